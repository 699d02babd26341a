/**
 * Zero-install benchmark: time from connect() to the first agent ready over SSH, on a host
 * with no Node (test/fixtures/nonode-up.sh, user nonode on 127.0.0.1:2223) cold (the runtime is
 * uploaded: its folder in the host's cache removed first) and warm (it is there), beside a host with its own
 * Node (the fixture's hpcuser on 127.0.0.1:2222), and a plain SFTP write of the same bytes to
 * the same host (ssh2 fastPut of the packed runtime that went over the wire, as `scp` would), in
 * the same run, alternated; each rep's cold minus warm is compared with its own SFTP write.
 * Then the upload alone (ensureRuntime on an open connection, as after the probe) against an
 * SFTP write and a plain stream (`cat > file` over exec) of the same bytes, alternated: over
 * the loopback link, where the CPU (crypto, unpacking) is the limit, and over a link of
 * --link-mbit (a pacing relay in a process of its own: slow-link.mjs), where the bandwidth is,
 * as between a laptop and a cluster. Also the one-off cost on the controller side (hash +
 * compression of the runtime, cached after). With --slurm,
 * the same for a SLURM pool submitted `via` the login node (sshd fixtures, single-node SLURM):
 * the first agent of a job ready, login user without Node (nonode2) cold and warm, beside one
 * with Node (hpcuser). A script, not a test; run it as root:
 *
 *   npm run build && npx tsx test/bench/runtime.bench.ts [--reps 5] [--link-mbit 200] [--slurm]
 *
 * Writes test/bench/results/runtime-latest.json.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
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
import { probeHost } from '../../server/runtime/probe.js';
import { ensureRuntime } from '../../server/runtime/upload.js';
import { nonode, slurm, sshd } from '../fixtures/index.js';
import type { SshTarget } from '../fixtures/index.js';
import { fmt } from './report.js';
import { banner, exitWhenDone, machineEnv, positive, writeResults } from './results.js';
import { median } from './stats.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '5' }, 'link-mbit': { type: 'string', default: '200' }, slurm: { type: 'boolean', default: false } } });
const reps = positive('reps', args.reps);
const linkMbit = Number(args['link-mbit']);
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

/** A connection to the fixture's host, through `sock` when given (the paced link). */
function dial(fx: SshTarget, sock?: ReturnType<typeof tcpConnect>): Promise<SshClient> {
  return openConnection(resolveHost(fx.hostAlias, loadSshConfig(fx.sshConfig), { knownHosts: fx.knownHosts }), {}, sock);
}

/** Where the plain writes go: the host's home, the file system the runtime goes to. */
const scratchName = `.flotilla-bench-write-${process.pid}`;

/** A plain SFTP write of `file` into the host's home (parallel requests, as scp/sftp do), in ms. */
async function sftpWrite(client: SshClient, file: string): Promise<number> {
  const sftp = await new Promise<SFTPWrapper>((res, rej) => client.sftp((e, s) => (e ? rej(e) : res(s))));
  const t = performance.now();
  await new Promise<void>((res, rej) => sftp.fastPut(file, scratchName, (e) => (e ? rej(e) : res())));
  const ms = performance.now() - t;
  sftp.end();
  return ms;
}

/** A plain stream of `file` into the host's home over one exec channel (`cat > file`, as legacy scp), in ms. */
function streamWrite(client: SshClient, file: string): Promise<number> {
  const t = performance.now();
  return new Promise((res, rej) =>
    client.exec(`cat > ${scratchName}`, (e, ch) => {
      if (e) return rej(e);
      ch.resume();
      ch.on('close', (code: number) => (code === 0 ? res(performance.now() - t) : rej(new Error(`cat exited ${code}`))));
      createReadStream(file, { highWaterMark: 2 ** 20 }).pipe(ch);
    }),
  );
}

/** A fresh connection's SFTP write (the connect itself not timed). */
async function sftpWriteOnce(fx: SshTarget, file: string): Promise<number> {
  const client = await dial(fx);
  try {
    return await sftpWrite(client, file);
  } finally {
    client.end();
  }
}

/** Median of the per-rep ratios a[i] / b[i]. */
const pairedRatio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!));

const rows = { hostNode: [] as number[], cold: [] as number[], warm: [] as number[], sftpPacked: [] as number[], sftpRaw: [] as number[], coldBytes: [] as number[] };
const loads: Record<string, number> = { start: load };
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
  rows.sftpPacked.push(await sftpWriteOnce(without, archive));
  rows.sftpRaw.push(await sftpWriteOnce(without, rt.file));
}
loads.afterFirstAgent = loadavg()[0]!;

const m = (xs: number[]) => median(xs);
console.log(`\nfirst agent ready (median of ${reps}):`);
console.log(`  host's own Node (hpcuser)                ${fmt(m(rows.hostNode), 'ms').padStart(10)}`);
console.log(`  no Node, warm (runtime cached there)     ${fmt(m(rows.warm), 'ms').padStart(10)}`);
console.log(`  no Node, cold (runtime uploaded)         ${fmt(m(rows.cold), 'ms').padStart(10)}   ${(m(rows.coldBytes) / 2 ** 20).toFixed(1)} MB on the wire`);
console.log(`  plain SFTP write of the ${format} archive     ${fmt(m(rows.sftpPacked), 'ms').padStart(10)}`);
console.log(`  plain SFTP write of the runtime's bytes  ${fmt(m(rows.sftpRaw), 'ms').padStart(10)}   ${(rt.size / 2 ** 20).toFixed(1)} MB`);
const extras = rows.cold.map((c, i) => c - rows.warm[i]!);
const extra = m(extras);
const coldRatio = { archive: pairedRatio(extras, rows.sftpPacked), runtime: pairedRatio(extras, rows.sftpRaw) };
console.log(`  => cold costs ${fmt(extra, 'ms')} over warm (median of each rep's difference): ${coldRatio.archive.toFixed(2)}x a plain transfer of the ${format} archive sent, ${coldRatio.runtime.toFixed(2)}x one of the runtime itself (medians of each rep's ratio); warm costs ${fmt(m(rows.warm) - m(rows.hostNode), 'ms')} over the host's Node`);

interface Alone {
  upload: number[];
  warm: number[];
  sftp: number[];
  stream: number[];
}

/**
 * The upload alone on one connection, alternated with plain writes of the same bytes: `reps`
 * times, the host's copy removed first; as after a probe that saw it missing.
 */
async function uploadAlone(client: SshClient): Promise<Alone> {
  const probe = await probeHost(client, without.hostAlias, 'node', undefined);
  const missing = { unpackers: probe.unpackers ?? [] };
  const out: Alone = { upload: [], warm: [], sftp: [], stream: [] };
  for (let i = 0; i < reps; i++) {
    clear();
    const t = performance.now();
    const r = await ensureRuntime(client, without.hostAlias, rt, { missing, formats: [format!] });
    out.upload.push(performance.now() - t);
    if (!r.uploaded || r.sentBytes !== archiveBytes) throw new Error(`the upload sent ${r.sentBytes} bytes, not the archive's ${archiveBytes}`);
    // What a host that has it costs (one exec: the stamp check and node -v): cold minus this is the upload's own cost.
    const w = performance.now();
    if ((await ensureRuntime(client, without.hostAlias, rt)).uploaded) throw new Error('the warm check uploaded');
    out.warm.push(performance.now() - w);
    out.sftp.push(await sftpWrite(client, archive));
    out.stream.push(await streamWrite(client, archive));
  }
  await run(client, `rm -f ${scratchName}`);
  return out;
}

function printAlone(title: string, r: Alone): number {
  const own = r.upload.map((u, i) => u - r.warm[i]!);
  const ratio = pairedRatio(own, r.sftp);
  console.log(`\nthe upload alone ${title} (median of ${reps}, alternated):`);
  console.log(`  upload of the runtime (${format}, unpacked into place, checked, node -v) ${fmt(m(r.upload), 'ms').padStart(10)}`);
  console.log(`  the same on a host that has it (stamp check, node -v)    ${fmt(m(r.warm), 'ms').padStart(10)}`);
  console.log(`  plain SFTP write of the same ${(archiveBytes / 2 ** 20).toFixed(1)} MB             ${fmt(m(r.sftp), 'ms').padStart(10)}`);
  console.log(`  plain stream of them over one exec channel (cat > file)  ${fmt(m(r.stream), 'ms').padStart(10)}`);
  console.log(`  => the upload (minus the check) costs ${ratio.toFixed(2)}x a plain SFTP write of its bytes, ${pairedRatio(own, r.stream).toFixed(2)}x a plain stream; with the check ${pairedRatio(r.upload, r.sftp).toFixed(2)}x (medians of each rep's ratio)`);
  return ratio;
}

const loop = await dial(without);
const alone = await uploadAlone(loop).finally(() => loop.end());
loads.afterLoopback = loadavg()[0]!;
const aloneRatio = printAlone('over the loopback link (CPU-bound)', alone);

let paced: typeof alone | undefined;
let pacedRatio: number | undefined;
if (linkMbit > 0) {
  const relay = spawn(process.execPath, [new URL('./slow-link.mjs', import.meta.url).pathname, without.host, String(without.port), String(linkMbit)], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((res, rej) => {
      relay.stdout.on('data', (d: Buffer) => {
        const p = /listening (\d+)/.exec(String(d));
        if (p) res(Number(p[1]));
      });
      relay.on('exit', (c) => rej(new Error(`slow-link.mjs exited ${c}`)));
    });
    const client = await dial(without, tcpConnect(port, '127.0.0.1'));
    paced = await uploadAlone(client).finally(() => client.end());
    loads.afterPaced = loadavg()[0]!;
    pacedRatio = printAlone(`over a ${linkMbit} Mbit/s link (bandwidth-bound)`, paced);
  } finally {
    relay.stdin!.end();
  }
}
console.log(`\nload average: ${Object.entries(loads).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);

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
  env: { ...machineEnv(), loadAtStart: load, loads, reps, linkMbit, runtime: rt.origin, runtimeBytes: rt.size, format, archiveBytes, controllerPrepareMs: prepareMs },
  samplesMs: rows,
  uploadAloneMs: { loopback: alone, ...(paced ? { paced } : {}) },
  ratios: { coldOverWarmPerSftpArchive: coldRatio.archive, coldOverWarmPerSftpRuntime: coldRatio.runtime, uploadPerSftpLoopback: aloneRatio, ...(pacedRatio !== undefined ? { uploadPerSftpPaced: pacedRatio } : {}) },
  ...(args.slurm ? { slurmSamplesMs: slurmRows, slurmMedianMs: { hostNode: m(slurmRows.hostNode), warm: m(slurmRows.warm), cold: m(slurmRows.cold) } } : {}),
  medianMs: { hostNode: m(rows.hostNode), warm: m(rows.warm), cold: m(rows.cold), sftpWriteArchive: m(rows.sftpPacked), sftpWriteRuntimeBytes: m(rows.sftpRaw) },
});
clear();
if (args.slurm) rmSync(`${(await nonode({ user: 'nonode2' })).home}/.cache/flotilla/runtime/${rt.sha256}`, { recursive: true, force: true });
rmSync(`${without.home}/${scratchName}`, { force: true });
rmSync(rt.dir, { recursive: true, force: true });
rmSync(scratch, { recursive: true, force: true });
exitWhenDone('runtime.bench.ts', {});
