/**
 * Zero-install benchmark: time from connect() to the first agent ready over SSH, on a host
 * with no Node (test/fixtures/nonode-up.sh, user nonode on 127.0.0.1:2223) cold (the runtime is
 * uploaded: its folder in the host's cache removed first) and warm (it is there), beside a host with its own
 * Node (the fixture's hpcuser on 127.0.0.1:2222), and a plain SFTP write of the same bytes to
 * the same host (ssh2 fastPut of the packed runtime that went over the wire, as `scp` would), in
 * the same run. Also the one-off cost on the controller side (hash + compression of the runtime,
 * cached after). With --slurm,
 * the same for a SLURM pool submitted `via` the login node (sshd fixtures, single-node SLURM):
 * the first agent of a job ready, login user without Node (nonode2) cold and warm, beside one
 * with Node (hpcuser). A script, not a test; run it as root:
 *
 *   npm run build && npx tsx test/bench/runtime.bench.ts [--reps 3] [--slurm]
 *
 * Writes test/bench/results/runtime-latest.json.
 */
import { appendFileSync, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client as SshClient, SFTPWrapper } from 'ssh2';
import { connect } from '../../client/index.js';
import type { SshLauncher } from '../../server/launchers/ssh/launcher.js';
import { openConnection } from '../../server/launchers/ssh/connect.js';
import { loadSshConfig, resolveHost } from '../../server/launchers/ssh/resolve.js';
import { run } from '../../server/launchers/ssh/remote.js';
import { fileRuntime } from '../../server/runtime/obtain.js';
import { packed, packFormats } from '../../server/runtime/pack.js';
import { nonode, slurm, sshd } from '../fixtures/index.js';
import type { SshTarget } from '../fixtures/index.js';
import { fmt } from './report.js';
import { banner, exitWhenDone, machineEnv, positive, writeResults } from './results.js';
import { median } from './stats.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '3' }, slurm: { type: 'boolean', default: false } } });
const reps = positive('reps', args.reps);
const load = banner('runtime', `${reps} rep(s)`);
const [withNode, without] = [await sshd(), await nonode()];

const t0 = Date.now();
// This node with a line appended (it still runs): a sha256 of the bench's own, so clearing its
// folder on the host disturbs no test using the same host user, and the bundle stays cached.
const scratch = mkdtempSync(join(tmpdir(), 'flotilla-bench-rt-'));
const own = join(scratch, 'node');
copyFileSync(process.execPath, own);
appendFileSync(own, `\nflotilla runtime bench ${process.pid}\n`);
const rt = await fileRuntime(own);
const [format] = await packFormats();
const archive = await packed(rt, format!);
const prepareMs = Date.now() - t0;
const archiveBytes = statSync(archive).size;
console.log(`runtime: ${rt.origin}, ${(rt.size / 2 ** 20).toFixed(1)} MB, ${format} ${(archiveBytes / 2 ** 20).toFixed(1)} MB; controller side (hash + compression, or cached) ${prepareMs} ms`);

/** connect() until the first lane is connected; the launcher's runtime uploads and bytes. */
async function ready(fx: SshTarget, runtime?: string): Promise<{ ms: number; uploads: number; bytes: number }> {
  const t = performance.now();
  const fl = await connect({ pools: { p: { launcher: 'ssh', hosts: [fx.hostAlias], agentsPerHost: 1, slots: 1, sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, tunnel: 'never', ...(runtime ? { runtime } : {}) } }, waitForAgents: 1, waitForAgentsTimeoutMs: 300_000 });
  const ms = performance.now() - t;
  const l = fl.controller!.pools.get('p')!.launcher as SshLauncher;
  const out = { ms, uploads: l.runtimeUploads, bytes: l.runtimeBytes };
  await fl.close();
  return out;
}

/** A plain SFTP write of `file` to the host's /tmp (parallel requests, as scp/sftp do), in ms. */
async function sftpWrite(fx: SshTarget, file: string): Promise<number> {
  const h = resolveHost(fx.hostAlias, loadSshConfig(fx.sshConfig), { knownHosts: fx.knownHosts });
  const client: SshClient = await openConnection(h, {});
  try {
    const sftp = await new Promise<SFTPWrapper>((res, rej) => client.sftp((e, s) => (e ? rej(e) : res(s))));
    const dest = `/tmp/flotilla-bench-sftp-${process.pid}`;
    const t = performance.now();
    await new Promise<void>((res, rej) => sftp.fastPut(file, dest, (e) => (e ? rej(e) : res())));
    const ms = performance.now() - t;
    await run(client, `rm -f ${dest}`);
    sftp.end();
    return ms;
  } finally {
    client.end();
  }
}

const rows = { hostNode: [] as number[], cold: [] as number[], warm: [] as number[], sftpPacked: [] as number[], sftpRaw: [] as number[], coldBytes: [] as number[] };
const clear = () => rmSync(`${without.home}/.cache/flotilla/runtime/${rt.sha256}`, { recursive: true, force: true });
await ready(withNode); // warm-up: bundles in place, page cache
for (let i = 0; i < reps; i++) {
  rows.hostNode.push((await ready(withNode)).ms);
  clear();
  const cold = await ready(without, own);
  if (cold.uploads !== 1) throw new Error(`cold run uploaded ${cold.uploads} times`);
  if (cold.bytes !== archiveBytes) throw new Error(`cold run sent ${cold.bytes} bytes, not the ${format} archive's ${archiveBytes}`);
  rows.cold.push(cold.ms);
  rows.coldBytes.push(cold.bytes);
  const warm = await ready(without, own);
  if (warm.uploads !== 0) throw new Error(`warm run uploaded ${warm.uploads} times`);
  rows.warm.push(warm.ms);
  rows.sftpPacked.push(await sftpWrite(without, archive));
  rows.sftpRaw.push(await sftpWrite(without, rt.file));
}

const m = (xs: number[]) => median(xs);
console.log(`\nfirst agent ready (median of ${reps}):`);
console.log(`  host's own Node (hpcuser)                ${fmt(m(rows.hostNode), 'ms').padStart(10)}`);
console.log(`  no Node, warm (runtime cached there)     ${fmt(m(rows.warm), 'ms').padStart(10)}`);
console.log(`  no Node, cold (runtime uploaded)         ${fmt(m(rows.cold), 'ms').padStart(10)}   ${(m(rows.coldBytes) / 2 ** 20).toFixed(1)} MB on the wire`);
console.log(`  plain SFTP write of the ${format} archive     ${fmt(m(rows.sftpPacked), 'ms').padStart(10)}`);
console.log(`  plain SFTP write of the runtime's bytes  ${fmt(m(rows.sftpRaw), 'ms').padStart(10)}   ${(rt.size / 2 ** 20).toFixed(1)} MB`);
const extra = m(rows.cold) - m(rows.warm);
console.log(`  => cold costs ${fmt(extra, 'ms')} over warm: ${(extra / m(rows.sftpPacked)).toFixed(2)}x a plain transfer of the ${format} archive sent, ${(extra / m(rows.sftpRaw)).toFixed(2)}x one of the runtime itself; warm costs ${fmt(m(rows.warm) - m(rows.hostNode), 'ms')} over the host's Node`);

/** A SLURM pool via the login node `fx`: connect() until its first job's agent is connected. */
async function slurmReady(fx: SshTarget, runtime?: string): Promise<{ ms: number; uploads: number }> {
  const t = performance.now();
  const fl = await connect({
    pools: { p: { launcher: 'slurm', via: fx.hostAlias, relayListen: '127.0.0.1:0', agents: 1, slots: 1, resources: { time: '10m', mem: '100M' }, pollSeconds: 1, ssh: { sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, tunnel: 'always' }, ...(runtime ? { runtime } : {}) } },
    waitForAgents: 1,
    waitForAgentsTimeoutMs: 300_000,
  });
  const ms = performance.now() - t;
  const uploads = (fl.controller!.pools.get('p')!.launcher as unknown as { runtimeUploads: number }).runtimeUploads;
  await fl.close();
  return { ms, uploads };
}

const slurmRows = { hostNode: [] as number[], cold: [] as number[], warm: [] as number[] };
if (args.slurm) {
  await slurm();
  const login = await nonode({ user: 'nonode2' });
  await slurmReady(withNode); // warm-up
  for (let i = 0; i < reps; i++) {
    slurmRows.hostNode.push((await slurmReady(withNode)).ms);
    rmSync(`${login.home}/.cache/flotilla/runtime/${rt.sha256}`, { recursive: true, force: true });
    const cold = await slurmReady(login, own);
    if (cold.uploads !== 1) throw new Error(`SLURM cold run uploaded ${cold.uploads} times`);
    slurmRows.cold.push(cold.ms);
    slurmRows.warm.push((await slurmReady(login, own)).ms);
  }
  console.log(`
SLURM via the login node, first agent ready (median of ${reps}):`);
  console.log(`  login user with Node (hpcuser)           ${fmt(m(slurmRows.hostNode), 'ms').padStart(10)}`);
  console.log(`  no Node, warm                            ${fmt(m(slurmRows.warm), 'ms').padStart(10)}`);
  console.log(`  no Node, cold (runtime uploaded)         ${fmt(m(slurmRows.cold), 'ms').padStart(10)}`);
}

writeResults('runtime-latest.json', {
  env: { ...machineEnv(), loadAtStart: load, reps, runtime: rt.origin, runtimeBytes: rt.size, format, archiveBytes, controllerPrepareMs: prepareMs },
  samplesMs: rows,
  ...(args.slurm ? { slurmSamplesMs: slurmRows, slurmMedianMs: { hostNode: m(slurmRows.hostNode), warm: m(slurmRows.warm), cold: m(slurmRows.cold) } } : {}),
  medianMs: { hostNode: m(rows.hostNode), warm: m(rows.warm), cold: m(rows.cold), sftpWriteArchive: m(rows.sftpPacked), sftpWriteRuntimeBytes: m(rows.sftpRaw) },
});
clear();
if (args.slurm) rmSync(`${(await nonode({ user: 'nonode2' })).home}/.cache/flotilla/runtime/${rt.sha256}`, { recursive: true, force: true });
rmSync(rt.dir, { recursive: true, force: true });
rmSync(scratch, { recursive: true, force: true });
exitWhenDone('runtime.bench.ts', {});
