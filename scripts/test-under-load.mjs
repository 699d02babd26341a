#!/usr/bin/env node
/**
 * The suite on a busy machine: starts CPU-bound and I/O-bound load processes
 * (test/support/load-proc.mjs), runs vitest beside them, stops them after, and exits with
 * vitest's code. Arguments go to `vitest run` (files, -t filters).
 *
 *   npm run test:load                          the whole suite under load
 *   npm run test:load -- test/faults           some of it
 *   LOAD_CPU=4 LOAD_IO=2 npm run test:load     how much load (default: a spinner per core, 2 writers)
 *
 * FLOTILLA_TEST_SLOWDOWN (default 3 here) scales the tests' time bounds (test/support/timing.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const proc = join(root, 'test', 'support', 'load-proc.mjs');
const count = (name, dflt) => {
  const v = process.env[name] === undefined ? dflt : Number(process.env[name]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`${name} must be a whole number of processes, got ${JSON.stringify(process.env[name])}`);
    process.exit(2);
  }
  return v;
};
const cpu = count('LOAD_CPU', availableParallelism());
const io = count('LOAD_IO', 2);

const dir = mkdtempSync(join(tmpdir(), 'flotilla-load-'));
const load = [];
for (let i = 0; i < cpu + io; i++) {
  const child = spawn(process.execPath, [proc, ...(i < cpu ? ['cpu'] : ['io', dir])], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.on('error', (err) => console.error(`load process: ${err.message}`));
  child.stdin.on('error', () => {});
  load.push(child);
}
console.error(`[test:load] ${cpu} CPU-bound and ${io} I/O-bound load process(es) running beside the tests`);

let stopped = false;
async function stopLoad() {
  if (stopped) return;
  stopped = true;
  const ended = load.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r))));
  for (const c of load) c.stdin.end(); // their lifeline: they stop and remove their files
  const force = setTimeout(() => load.forEach((c) => c.kill('SIGKILL')), 5_000);
  await Promise.all(ended);
  clearTimeout(force);
  rmSync(dir, { recursive: true, force: true });
}

const vitest = spawn(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FLOTILLA_TEST_SLOWDOWN: process.env.FLOTILLA_TEST_SLOWDOWN ?? '3' },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => vitest.kill(sig));
vitest.on('exit', async (code, signal) => {
  await stopLoad();
  console.error(`[test:load] load stopped; vitest ${signal ? `ended by ${signal}` : `exited with ${code}`}`);
  process.exit(code ?? 1);
});
