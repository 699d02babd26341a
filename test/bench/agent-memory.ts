/**
 * An idle agent's memory: the resident set of a local agent process (its supervisor and lanes)
 * once its slots are connected and have run one task, read from /proc. The baseline is a bare
 * `node` child holding one `ws` connection (the ws echo child), measured the same way.
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { Connect } from './flotilla-bench.js';
import { median, within } from './stats.js';

const CHILD = fileURLToPath(new URL('./ws-echo-child.mjs', import.meta.url));

/** Resident memory of a process, MiB: total, and its private (anonymous) part. */
export function rssMiB(pid: number): { rss: number; anon: number } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (f: string) => Number(new RegExp(`${f}:\\s+(\\d+) kB`).exec(st)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

/** Lets an idle process settle (timers, lazy compilation) before it is measured. */
const SETTLE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS of one idle local agent with `slots` slots, after one task per slot; median of `reps` agents. */
export async function idleAgentRss(connect: Connect, slots: number, reps: number): Promise<{ rss: number; anon: number }> {
  const rss: number[] = [], anon: number[] = [];
  for (let i = 0; i < reps; i++) {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots } }, waitForAgents: slots });
    try {
      await fl.map(Array.from({ length: slots }, (_, k) => k), (x: number) => x);
      await sleep(SETTLE_MS);
      const pids = new Set((await fl.agents()).lanes.map((l) => l.pid));
      if (pids.size !== 1) throw new Error(`expected one agent process, saw ${pids.size}`);
      const m = rssMiB([...pids][0]!);
      rss.push(m.rss);
      anon.push(m.anon);
    } finally {
      await fl.close();
    }
  }
  return { rss: median(rss), anon: median(anon) };
}

/** RSS of a bare `node` child connected to a ws server (the echo child), idle; median of `reps`. */
export async function bareNodeWsRss(reps: number): Promise<{ rss: number; anon: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('error', () => {});
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(wss.address() as import('node:net').AddressInfo).port}`;
  const rss: number[] = [], anon: number[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      const child = spawn(process.execPath, [CHILD, url], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', () => {});
      const ws = await within(new Promise<import('ws').WebSocket>((r) => wss.once('connection', r)), 10_000, 'echo child connecting');
      await new Promise<void>((r) => (ws.once('message', () => r()), ws.send('x')));
      await sleep(SETTLE_MS);
      const m = rssMiB(child.pid!);
      rss.push(m.rss);
      anon.push(m.anon);
      const exited = new Promise((r) => child.once('exit', r));
      ws.close();
      await exited;
    }
  } finally {
    await new Promise<void>((r) => wss.close(() => r()));
  }
  return { rss: median(rss), anon: median(anon) };
}
