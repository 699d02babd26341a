/**
 * What flotilla decides from a host's probe, and what it refuses before sending anything: the
 * probe's parsing and each refusal's message (the host, what it has, what is needed, what to do).
 * The probes are what real hosts answer; the end-to-end paths are in runtime.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseRuntime } from '../../server/runtime/choose.js';
import { parseProbe, probeScript } from '../../server/runtime/probe.js';
import type { HostProbe } from '../../server/runtime/probe.js';
import { rejection } from '../support/async.js';

const linux = (over: Partial<HostProbe> = {}): HostProbe => ({
  os: 'Linux', arch: 'x64', libc: { kind: 'glibc', version: '2.36' }, node: undefined, setupFailed: undefined, home: '/home/u', freeBytes: 50 * 2 ** 30, ...over,
});

describe('the host probe', () => {
  it('answers in one POSIX sh command: OS, arch, libc, node after setup, home, free space', async () => {
    // Run here, under dash (Debian's sh), as a host's shell would.
    const r = await execa('sh', ['-c', probeScript('node', 'export PATH=/nonexistent:$PATH')], { reject: false });
    const p = parseProbe(r.stdout, r.stderr);
    expect(p.os).toBe('Linux');
    expect(p.arch).toBe(process.arch);
    expect(p.libc).toEqual({ kind: 'glibc', version: (process.report.getReport() as { header: { glibcVersionRuntime: string } }).header.glibcVersionRuntime });
    expect(p.node?.version).toBe(process.version);
    expect(p.home).toBe(process.env.HOME);
    expect(p.freeBytes).toBeGreaterThan(0);
    expect(p.setupFailed).toBeUndefined();
    expect(p.unpackers).toEqual(['zstd', 'gunzip']); // the test machine has both (.ci/run installs zstd)
  });

  it("lists the runtimes in the host's cache, so a missing one is sent without asking", async () => {
    const home = mkdtempSync(join(tmpdir(), 'flotilla-probe-'));
    try {
      const sha = 'ab'.repeat(32);
      mkdirSync(join(home, '.cache/flotilla/runtime', sha), { recursive: true });
      writeFileSync(join(home, '.cache/flotilla/runtime', sha, 'node'), '');
      mkdirSync(join(home, '.cache/flotilla/runtime', 'cd'.repeat(32))); // a folder without its node
      const r = await execa('sh', ['-c', probeScript('node', undefined)], { env: { HOME: home }, reject: false });
      expect(parseProbe(r.stdout, r.stderr).runtimes).toEqual([sha]);
      rmSync(join(home, '.cache/flotilla/runtime'), { recursive: true });
      const none = await execa('sh', ['-c', probeScript('node', undefined)], { env: { HOME: home }, reject: false });
      expect(parseProbe(none.stdout, none.stderr).runtimes).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('reports a setup that fails, with its exit code and message', async () => {
    const r = await execa('sh', ['-c', probeScript('node', 'echo "module: nodejs/99 not found" >&2; false')], { reject: false });
    const p = parseProbe(r.stdout, r.stderr);
    expect(p.setupFailed).toEqual({ code: 1, stderr: 'module: nodejs/99 not found' });
  });

  it('reads musl and unknown architectures', () => {
    expect(parseProbe('fl_os=Linux\nfl_arch=aarch64\nfl_home=/h\nfl_libc=musl\nfl_free_kb=\n', '')).toMatchObject({ arch: 'arm64', libc: { kind: 'musl' }, freeBytes: undefined, node: undefined });
    expect(parseProbe('fl_os=Linux\nfl_arch=riscv64\nfl_home=/h\nfl_glibc=\n', '').libc).toEqual({ kind: 'unknown' });
  });
});

describe('choosing a runtime', () => {
  it("uses the host's Node when it is >= 20 and runtime is 'auto' or 'host'", async () => {
    const p = linux({ node: { path: '/usr/bin/node', version: 'v22.3.0' } });
    expect(await chooseRuntime(p, 'ws1', {})).toEqual({ kind: 'host', path: '/usr/bin/node', version: 'v22.3.0' });
    expect(await chooseRuntime(p, 'ws1', { runtime: 'host' })).toMatchObject({ kind: 'host' });
  });

  it("provides the controller's own node to a matching host that has none", async () => {
    const c = await chooseRuntime(linux(), 'ws1', {});
    expect(c).toMatchObject({ kind: 'provide', runtime: { version: process.version, origin: `the controller's own node ${process.version}` } });
  });

  it('refuses a glibc older than the runtime needs, naming the host, its glibc, the minimum and what to do', async () => {
    const err = await rejection(chooseRuntime(linux({ libc: { kind: 'glibc', version: '2.17' } }), 'old-cluster', {}));
    expect(err.message).toMatch(/^old-cluster: it has no node, but its glibc 2\.17 is older than 2\.28, the oldest official Node builds run on\. Install Node >= 20 built for that system there/);
    expect(err.context).toMatchObject({ host: 'old-cluster' });
    expect(err.action).toBe('set-host-aside');
  });

  it('refuses musl, other systems, other architectures and a full home, each saying why', async () => {
    expect((await rejection(chooseRuntime(linux({ libc: { kind: 'musl' } }), 'alp', {}))).message).toMatch(/^alp: it has no node, and official Node binaries need glibc but the host uses musl/);
    expect((await rejection(chooseRuntime(linux({ os: 'Darwin' }), 'mac', {}))).message).toMatch(/^mac: .*only on Linux \(the host runs Darwin\)/);
    expect((await rejection(chooseRuntime(linux({ arch: 'riscv64' }), 'rv', {}))).message).toMatch(/^rv: .*only for x64 and arm64 \(the host is riscv64\)/);
    expect((await rejection(chooseRuntime(linux({ freeBytes: 10 * 2 ** 20 }), 'full', {}))).message).toMatch(/^full: it has no node, and ~\/\.cache\/flotilla has 10 MB free, less than the runtime's \d+ MB/);
  });

  it("refuses with runtime 'host' what it would otherwise provide", async () => {
    const old = linux({ node: { path: '/opt/node18/bin/node', version: 'v18.20.8' } });
    expect(await chooseRuntime(old, 'ws1', {})).toMatchObject({ kind: 'provide' });
    expect((await rejection(chooseRuntime(old, 'ws1', { runtime: 'host' }))).message).toMatch(/^ws1: node v18\.20\.8 \(\/opt\/node18\/bin\/node\) is too old: flotilla agents need Node >= 20/);
    expect((await rejection(chooseRuntime(linux(), 'ws1', { runtime: 'host', setup: 'module load nodejs' }))).message).toContain('node not found (looked for `node` after `module load nodejs`)');
  });

  it('refuses a runtime file for another architecture', async () => {
    const err = await rejection(chooseRuntime(linux({ arch: process.arch === 'arm64' ? 'x64' : 'arm64' }), 'pi', { runtime: process.execPath }));
    expect(err.message).toBe(`pi: runtime ${process.execPath} is for ${process.arch}, but the host is ${process.arch === 'arm64' ? 'x64' : 'arm64'}`);
  });
});
