/**
 * The state folder and what it holds are the controller user's only, whatever was there before:
 * a folder given with --state-dir is narrowed to 0700, and the key, the token and the SQLite
 * databases (with their -wal and -shm files: job specs, arguments and results) are 0600.
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { Reaper, tempDir, within } from '../lifecycle/helpers.js';
import { startCliController } from '../support/cli-controller.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('state folder permissions', { timeout: 90_000 }, () => {
  it('--state-dir pointing at an existing 0755 folder leaves jobs.db readable by other users: the folder becomes 0700 and its files 0600', async () => {
    const reaper = new Reaper();
    const state = join(tempDir(reaper), 'shared-looking');
    mkdirSync(state, { mode: 0o755 });
    chmodSync(state, 0o755);
    // Left by an earlier run with a wide umask: a token and an empty database, world-readable.
    writeFileSync(join(state, 'token'), 'x'.repeat(43) + '\n', { mode: 0o644 });
    chmodSync(join(state, 'token'), 0o644);
    writeFileSync(join(state, 'flows.db'), '', { mode: 0o644 });
    chmodSync(join(state, 'flows.db'), 0o644);
    const oldUmask = process.umask(0o022);
    reaper.add(() => process.umask(oldUmask));

    const c = await startCliController(reaper, ['--agents', '1'], { stateDir: state });
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => fl.close());
    expect(await within(fl.map([1, 2], (x: number) => x + 1), 30_000, 'a map on the durable controller')).toEqual([2, 3]);

    expect(mode(state)).toBe('700');
    for (const f of ['token', 'controller.key', 'jobs.db', 'jobs.db-wal', 'jobs.db-shm', 'flows.db']) expect(`${f} ${mode(join(state, f))}`).toBe(`${f} 600`);
    expect(c.proc.stderr()).toMatch(/was mode 0755: narrowed to 0700/);
  });

  it('a shared sticky folder (like /tmp) as --state-dir is refused, not narrowed', async () => {
    const reaper = new Reaper();
    const shared = join(tempDir(reaper), 'sticky');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    await expect(startCliController(reaper, ['--agents', '1'], { stateDir: shared })).rejects.toThrow(/is a shared folder \(mode 1777\)/);
    expect(mode(shared)).toBe('777');
  });
});
