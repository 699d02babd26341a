/**
 * The unit project's promise (vitest `setupFiles`): its tests start no process, open no socket
 * and resolve no name. Starting a child process, connecting, listening or a DNS lookup throws
 * here, naming what was tried, so a unit test that reaches real infrastructure fails instead of
 * quietly becoming a slow one. Restored after the file, in case its worker is reused.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { afterAll } from 'vitest';

const require = createRequire(import.meta.url);
type Patch = [target: Record<string, unknown>, key: string, what: string];
const patches: Patch[] = [];
for (const key of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) patches.push([require('node:child_process'), key, `child_process.${key}`]);
const net = require('node:net');
for (const key of ['connect', 'createConnection']) patches.push([net, key, `net.${key}`]);
patches.push([net.Socket.prototype, 'connect', 'net.Socket#connect'], [net.Server.prototype, 'listen', 'net.Server#listen']);
for (const key of ['lookup', 'resolve', 'resolve4', 'resolve6']) patches.push([require('node:dns'), key, `dns.${key}`]);

const saved = patches.map(([target, key]) => target[key]);
for (const [target, key, what] of patches) {
  target[key] = () => {
    throw new Error(`${what} called in a unit test: unit tests (test/unit/) start no process and open no socket; put this test under the system tests instead`);
  };
}
// Named ESM imports of builtins (`import { spawn } from 'node:child_process'`) see the change too.
syncBuiltinESMExports();

afterAll(() => {
  patches.forEach(([target, key], i) => (target[key] = saved[i]));
  syncBuiltinESMExports();
});
