/**
 * An idle agent's memory: the resident set of a local agent process (its supervisor and lanes)
 * once its slots are connected and have run one task, read from /proc. Baselines, measured the
 * same way in the same run: a bare `node` child holding one `ws` connection (the ws echo child),
 * and the same child with one worker thread holding its own connection, the shape of a 1-slot
 * agent with nothing of ours in it.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Connect } from './flotilla-bench.js';
import { median, within } from './stats.js';

const CHILD = fileURLToPath(new URL('./ws-echo-child.mjs', import.meta.url));
const SHAPE_CHILD = fileURLToPath(new URL('./ws-shape-child.cjs', import.meta.url));

/**
 * Resident memory of a process, MiB: total; its private (anonymous) part; and the pages of the
 * `node` executable itself, file-backed and shared with every node process on the host.
 */
export interface Resident {
  rss: number;
  anon: number;
  nodeBinary: number;
}

/** Reads `pid`'s resident memory from /proc (smaps: which mapping the pages belong to). */
export function residentMiB(pid: number): Resident {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  let rss = 0, anon = 0, nodeBinary = 0, inBinary = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      inBinary = head[1] === exe;
      continue;
    }
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const mib = Number(m[2]) / 1024;
    if (m[1] === 'Anonymous') anon += mib;
    else {
      rss += mib;
      if (inBinary) nodeBinary += mib;
    }
  }
  return { rss, anon, nodeBinary };
}

/** Lets an idle process settle (timers, lazy compilation) before it is measured. */
const SETTLE_MS = 1500;
/**
 * V8 shrinks an idle isolate's heap (its memory reducer: a compacting GC that returns the young
 * generation's and free pages) about 8 s after it starts; this long after its first task an
 * agent has been through it.
 */
const REDUCED_MS = 11_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const medianOf = (xs: Resident[]): Resident => ({ rss: median(xs.map((x) => x.rss)), anon: median(xs.map((x) => x.anon)), nodeBinary: median(xs.map((x) => x.nodeBinary)) });

export interface IdleAgent extends Resident {
  /** The same agents once V8 has shrunk their idle heaps (when asked for). */
  reduced?: Resident;
}

/**
 * RSS of one idle local agent with `slots` slots, after one task per slot; median of `reps`
 * agents. With `reduced`, each agent is measured again REDUCED_MS after its task.
 */
export async function idleAgentRss(connect: Connect, slots: number, reps: number, reduced = false): Promise<IdleAgent> {
  const early: Resident[] = [], late: Resident[] = [];
  for (let i = 0; i < reps; i++) {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots } }, waitForAgents: slots });
    try {
      await fl.map(Array.from({ length: slots }, (_, k) => k), (x: number) => x);
      await sleep(SETTLE_MS);
      const pids = new Set((await fl.agents()).lanes.map((l) => l.pid));
      if (pids.size !== 1) throw new Error(`expected one agent process, saw ${pids.size}`);
      const pid = [...pids][0]!;
      early.push(residentMiB(pid));
      if (reduced) {
        await sleep(REDUCED_MS - SETTLE_MS);
        late.push(residentMiB(pid));
      }
    } finally {
      await fl.close();
    }
  }
  return { ...medianOf(early), ...(reduced ? { reduced: medianOf(late) } : {}) };
}

/**
 * RSS of a bare `node` child connected to a ws server, idle; with `worker`, the child also runs
 * one worker thread holding its own connection. The child is the echo child (ESM, importing
 * `ws`), or with `asBundled` ws-shape-child.cjs, which loads `ws` as the agent's bundle does:
 * the floor of an agent's shape. Median of `reps`.
 */
export async function bareNodeWsRss(reps: number, worker = false, asBundled = false): Promise<Resident> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('error', () => {});
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(wss.address() as import('node:net').AddressInfo).port}`;
  const want = worker ? 2 : 1;
  const out: Resident[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      const conns: WebSocket[] = [];
      const connected = new Promise<void>((r) => {
        const on = (ws: WebSocket) => {
          conns.push(ws);
          if (conns.length === want) (wss.off('connection', on), r());
        };
        wss.on('connection', on);
      });
      const child = spawn(process.execPath, [asBundled ? SHAPE_CHILD : CHILD, url, ...(worker ? ['--worker'] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', () => {});
      await within(connected, 10_000, 'echo child connecting');
      await Promise.all(conns.map((ws) => new Promise<void>((r) => (ws.once('message', () => r()), ws.send('x')))));
      await sleep(SETTLE_MS);
      out.push(residentMiB(child.pid!));
      const exited = new Promise((r) => child.once('exit', r));
      conns[0]!.close(); // the main thread's connection: its close ends the child
      await exited;
    }
  } finally {
    await new Promise<void>((r) => wss.close(() => r()));
  }
  return medianOf(out);
}
