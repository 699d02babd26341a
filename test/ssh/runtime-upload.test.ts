/**
 * How a runtime travels to a host without Node (test/fixtures/nonode-up.sh, user nonode2): packed
 * with zstd when the host can unpack it, else gzip, else raw; unpacked as it arrives; the packed
 * copy on the controller checked before it is sent and made anew when damaged. The file has a
 * runtime of its own (node with a few bytes appended: another sha256, so another folder on the
 * host that no other test touches) in a controller cache of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Client as SshClient } from 'ssh2';
import { openConnection } from '../../server/launchers/ssh/connect.js';
import { loadSshConfig, resolveHost } from '../../server/launchers/ssh/resolve.js';
import { fileRuntime } from '../../server/runtime/obtain.js';
import type { LocalRuntime } from '../../server/runtime/obtain.js';
import { packed } from '../../server/runtime/pack.js';
import { ensureRuntime } from '../../server/runtime/upload.js';
import { nonode, remoteProcesses } from '../fixtures/index.js';
import type { NoNodeFixture } from '../fixtures/index.js';
import { rejection, until } from '../support/async.js';

let fx: NoNodeFixture;
const work = mkdtempSync(join(tmpdir(), 'flotilla-upload-'));
const before = process.env.FLOTILLA_RUNTIME_CACHE;
const clients: SshClient[] = [];
let rt: LocalRuntime;
beforeAll(async () => {
  process.env.FLOTILLA_RUNTIME_CACHE = join(work, 'cache');
  fx = await nonode({ user: 'nonode2' }); // not nonode: test/ssh/runtime.test.ts clears that home's cache
  // This machine's node with a line appended (it still runs): a sha256 no other test uploads.
  const file = join(work, 'node');
  copyFileSync(process.execPath, file);
  appendFileSync(file, `\nflotilla upload test ${process.pid}\n`);
  rt = await fileRuntime(file);
}, 300_000);
afterAll(() => {
  clients.forEach((c) => c.end());
  if (before === undefined) delete process.env.FLOTILLA_RUNTIME_CACHE;
  else process.env.FLOTILLA_RUNTIME_CACHE = before;
  if (rt) rmSync(hostDir(rt.sha256), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const hostDir = (sha: string) => join(fx.home, '.cache', 'flotilla', 'runtime', sha);
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A small file to pack (packing checks its hash, not what it is). */
function smallFile(name: string): { file: string; sha256: string; dir: string } {
  const dir = mkdtempSync(join(work, 'pack-'));
  const file = join(dir, name);
  writeFileSync(file, randomBytes(256 * 1024));
  return { file, sha256: sha256(file), dir };
}

async function connection(): Promise<SshClient> {
  const c = await openConnection(resolveHost(fx.hostAlias, loadSshConfig(fx.sshConfig), { knownHosts: fx.knownHosts }), {});
  clients.push(c);
  return c;
}

describe('uploading a runtime to a host without Node', { timeout: 180_000 }, () => {
  it('sends zstd to a host that has zstd, gzip to one with only gunzip, raw bytes to one with neither; each arrives whole and runs', async () => {
    const client = await connection();
    for (const format of ['zst', 'gz', 'raw'] as const) {
      rmSync(hostDir(rt.sha256), { recursive: true, force: true });
      // The host picks the first format of the offer it can unpack: offering one stands for a host without the others.
      const r = await ensureRuntime(client, fx.hostAlias, rt, format === 'zst' ? {} : { formats: [format] });
      expect(r).toMatchObject({ uploaded: true, format, version: process.version });
      expect(r.sentBytes).toBe(statSync(await packed(rt, format)).size);
      const onHost = join(hostDir(rt.sha256), 'node');
      expect(sha256(onHost)).toBe(rt.sha256);
      expect(readdirSync(hostDir(rt.sha256)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
    expect(statSync(await packed(rt, 'zst')).size).toBeLessThan(statSync(await packed(rt, 'gz')).size);
    expect(await ensureRuntime(client, fx.hostAlias, rt)).toMatchObject({ uploaded: false, sentBytes: 0 });
  });

  it('sends the bytes of a runtime the probe saw missing with its first command, in a format the host has', async () => {
    const client = await connection();
    for (const [unpackers, format] of [[['zstd', 'gunzip'], 'zst'], [['gunzip'], 'gz'], [[], 'raw']] as const) {
      rmSync(hostDir(rt.sha256), { recursive: true, force: true });
      const r = await ensureRuntime(client, fx.hostAlias, rt, { missing: { unpackers: [...unpackers] } });
      expect(r).toMatchObject({ uploaded: true, format, version: process.version });
      expect(r.sentBytes).toBe(statSync(await packed(rt, format)).size);
      expect(sha256(join(hostDir(rt.sha256), 'node'))).toBe(rt.sha256);
    }
  });

  it("a cold upload's bytes go before the host's lock is taken; a host that has the runtime by then reads none of them", async () => {
    rmSync(hostDir(rt.sha256), { recursive: true, force: true });
    // Another machine's launch holds the lock (a host name not this one's: never taken over).
    const lock = `${hostDir(rt.sha256)}.lock`;
    const { uid, gid } = statSync(fx.home);
    const own = (path: string) => chownSync(path, uid, gid);
    mkdirSync(dirname(lock), { recursive: true });
    own(dirname(lock));
    mkdirSync(lock);
    writeFileSync(join(lock, 'owner'), 'another-host 1\n');
    const pending = ensureRuntime(await connection(), fx.hostAlias, rt, { missing: { unpackers: ['zstd'] } });
    const waiting = async () => {
      const ps = await remoteProcesses(fx.user);
      return ps.some((p) => p.cmd.includes(`flotilla-runtime ${rt.sha256}`)) && ps.some((p) => p.cmd === 'sleep 1');
    };
    await until(waiting, 60_000); // the host's script waits on the lock
    // That launch finishes: the runtime in place with its stamp, the lock released.
    mkdirSync(hostDir(rt.sha256));
    const onHost = join(hostDir(rt.sha256), 'node');
    copyFileSync(rt.file, onHost);
    const st = statSync(onHost);
    writeFileSync(`${onHost}.ok`, `${st.size}.${Math.floor(st.mtimeMs / 1000)}\n`);
    [hostDir(rt.sha256), onHost, `${onHost}.ok`].forEach(own);
    rmSync(lock, { recursive: true });
    const r = await pending;
    expect(r).toMatchObject({ uploaded: false, version: process.version });
    expect(r.sentBytes).toBeGreaterThan(0); // sent while the host waited: nothing asked for them
    expect(readdirSync(hostDir(rt.sha256)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('two connections racing to a cold host share one upload', async () => {
    rmSync(hostDir(rt.sha256), { recursive: true, force: true });
    const [a, b] = [await connection(), await connection()];
    // As launches after a probe that saw no copy do: both send at once, one stores.
    const missing = { unpackers: ['zstd', 'gunzip'] };
    const results = await Promise.all([ensureRuntime(a, fx.hostAlias, rt, { missing }), ensureRuntime(b, fx.hostAlias, rt, { missing })]);
    expect(results.map((r) => r.uploaded).sort()).toEqual([false, true]);
    expect(results.every((r) => r.version === process.version)).toBe(true);
    expect(sha256(join(hostDir(rt.sha256), 'node'))).toBe(rt.sha256);
    expect(readdirSync(join(hostDir(rt.sha256), '..')).filter((f) => f.startsWith(rt.sha256) && f !== rt.sha256)).toEqual([]); // no lock left
  });

  it('a packed copy damaged on the controller (same size and mtime) is caught by the host, made anew and sent again', async () => {
    rmSync(hostDir(rt.sha256), { recursive: true, force: true });
    const zst = await packed(rt, 'zst');
    const good = readFileSync(zst);
    const st = statSync(zst);
    const fd = openSync(zst, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x55), 0, 4096, Math.floor(st.size / 2));
    closeSync(fd);
    utimesSync(zst, st.atime, st.mtime); // its stamp still matches: only the host's unpacker can tell
    const r = await ensureRuntime(await connection(), fx.hostAlias, rt);
    expect(r).toMatchObject({ uploaded: true, format: 'zst', version: process.version });
    expect(sha256(join(hostDir(rt.sha256), 'node'))).toBe(rt.sha256);
    expect(readFileSync(zst).equals(good)).toBe(true);
  });

  it('a packed copy changed on the controller (its size or mtime) is made anew before it is sent', async () => {
    const small = smallFile('bin');
    const zst = await packed(small, 'zst');
    const bytes = readFileSync(zst);
    truncateSync(zst, 1000);
    expect(await packed(small, 'zst')).toBe(zst);
    expect(readFileSync(zst).equals(bytes)).toBe(true);
  });

  it('refuses to pack a runtime whose binary changed since it was hashed, naming it', async () => {
    const small = smallFile('node-stale');
    writeFileSync(small.file, 'changed');
    const err = await rejection(packed(small, 'gz'));
    expect(err.message).toMatch(/node-stale changed since it was hashed/);
    expect(readdirSync(small.dir)).toEqual(['node-stale']); // no copy, no temporary file
  });
});
