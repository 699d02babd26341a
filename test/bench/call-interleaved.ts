/**
 * One round trip three ways, in alternating blocks in one process: a raw `ws` echo with a plain
 * `node` child (the baseline of `npm run bench`), `await fl.call(fn, i)` of a registered identity
 * function, and `await fl.map([i], x => x)`; one local agent with one slot. On a shared VM the
 * echo's round trip moves by 3x within minutes (25 us on busy cores, 70-80 us on idle ones,
 * whose wake-ups cost more), so the core benchmark's ratio depends on when its baseline ran;
 * here every block of flotilla has an echo block beside it. Prints each kind's block medians,
 * the ratio per block, and the CPU time an operation costs this process (client and embedded
 * controller) and the other end (the echo child, or the agent, from /proc: 10 ms ticks, so use
 * enough operations).
 *
 *   npx tsx test/bench/call-interleaved.ts [--only echo,call,map] [--blocks 10] [--n 1000]
 *       [--warm-ms 3000] [--profile DIR] [--agent-profile DIR]
 *
 * --profile writes a CPU profile of this process per `call` block; --agent-profile has the agent
 * write its own (through node-cpu-prof.sh; a readable one needs an agent bundle built without
 * minification).
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { connect } from '../../client/index.js';
import { median, nowUs } from './stats.js';
import { PhaseProfiler } from './profiler.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'echo,call,map' },
    blocks: { type: 'string', default: '10' },
    n: { type: 'string', default: '1000' },
    'warm-ms': { type: 'string', default: '3000' },
    profile: { type: 'string' },
    'agent-profile': { type: 'string' },
  },
});

/** The descendants of `pid` (an embedded controller's agents and their threads' process). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const fields = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(fields[1]) === pid) out.push(Number(d), ...descendants(Number(d)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU time (user + system, us) a process has used, all its threads. */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await new Promise((r) => wss.on('listening', r));
const echoUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
const echoChild = spawn(process.execPath, [fileURLToPath(new URL('./ws-echo-child.mjs', import.meta.url)), echoUrl], { stdio: 'inherit' });
const ws = await new Promise<WebSocket>((r) => wss.once('connection', r));
const payload = Buffer.alloc(64, 7);

const agentProfile = args['agent-profile'] && {
  node: fileURLToPath(new URL('./node-cpu-prof.sh', import.meta.url)),
  env: { BENCH_NODE: process.execPath, BENCH_CPU_PROF_DIR: args['agent-profile'] },
};
const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1, ...agentProfile } }, waitForAgents: 1 });
const agents = descendants(process.pid).filter((p) => p !== echoChild.pid);
const fn = await fl.functions.register('bench-identity', (x: number) => x);

const ops: Record<string, { run: (i: number) => Promise<unknown>; pids: number[] }> = {
  echo: {
    run: () =>
      new Promise<void>((r) => {
        ws.once('message', () => r());
        ws.send(payload);
      }),
    pids: [echoChild.pid!],
  },
  call: { run: (i) => fl.call(fn, i), pids: agents },
  map: { run: async (i) => (await fl.map([i], (x: number) => x))[0], pids: agents },
};
const kinds = args.only.split(',');
for (const k of kinds) if (!ops[k]) throw new Error(`--only: no kind ${k} (echo, call, map)`);

const warmEnd = performance.now() + Number(args['warm-ms']);
while (performance.now() < warmEnd) for (const k of kinds) for (let i = 0; i < 100; i++) await ops[k]!.run(i);

const n = Number(args.n);
const res: Record<string, { t: number[]; self: number[]; other: number[] }> = {};
const profiler = args.profile ? new PhaseProfiler(args.profile) : undefined;
for (let b = 0; b < Number(args.blocks); b++) {
  for (const k of kinds) {
    const op = ops[k]!;
    if (profiler && k === 'call') await profiler.start();
    const other0 = op.pids.reduce((s, p) => s + cpuUs(p), 0);
    const self0 = process.cpuUsage();
    const t: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = nowUs();
      await op.run(i);
      t.push(nowUs() - t0);
    }
    const self = process.cpuUsage(self0);
    const other = op.pids.reduce((s, p) => s + cpuUs(p), 0) - other0;
    if (profiler && k === 'call') console.log(`  profile: ${await profiler.stop(`call-${b}`)}`);
    const r = (res[k] ??= { t: [], self: [], other: [] });
    r.t.push(median(t));
    r.self.push((self.user + self.system) / n);
    r.other.push(other / n);
  }
}
profiler?.close();

const us = (v: number) => v.toFixed(0).padStart(4);
for (const k of kinds) {
  const r = res[k]!;
  console.log(`${k.padEnd(5)} round trip, median of block medians ${us(median(r.t))} us [${r.t.map(us).join(' ')}]; CPU an op: this process ${median(r.self).toFixed(1)} us, the other end ${median(r.other).toFixed(1)} us`);
}
if (res.echo) for (const k of kinds.filter((k) => k !== 'echo')) console.log(`${k} / echo, block by block: ${res[k]!.t.map((v, i) => (v / res.echo!.t[i]!).toFixed(2)).join(' ')}`);
await fl.close();
echoChild.kill();
wss.close();
