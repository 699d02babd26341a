/**
 * Shared pieces of the lifecycle suite: real agent and controller processes, waits that end on
 * events (or poll with a short deadline when the event is another process ending), and a reaper
 * that leaves nothing running after a test, whatever happened in it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onTestFinished, vi } from 'vitest';
import { connect } from '../../client/index.js';
import { deferred, pollDelay, within } from '../support/async.js';
import { scaled } from '../support/timing.js';
import type { Deferred } from '../support/async.js';

export { deferred, within };
export type { Deferred };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_BUNDLE = join(ROOT, 'dist', 'agent.mjs');
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/**
 * Whether `pid` no longer runs. `kill(pid, 0)` failing with ESRCH is the proof; a zombie also
 * counts, because an orphan (its parent SIGKILLed) that has exited stays a zombie until PID 1
 * reaps it, and the init of some sandboxes (this one's) never does.
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // gone between the two checks
  }
}

/**
 * Polls (every 10 to 100 ms, up to `ms`) until every pid is gone; returns how long that took.
 * Another process ending has no event this process can wait on, hence the poll.
 */
export async function waitGone(pids: readonly number[], bound: number, what: string): Promise<number> {
  const ms = scaled(bound);
  const t0 = Date.now();
  for (let n = 0; ; n++) {
    const alive = pids.filter((p) => !isGone(p));
    if (alive.length === 0) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: pid(s) ${alive.join(', ')} still running after ${ms} ms`);
    await new Promise((r) => setTimeout(r, pollDelay(n)));
  }
}

/**
 * Ends everything a test started, after the test, even when it failed: cleanup functions in
 * reverse order, then SIGKILL for any pid still running, then a check that all of them are gone.
 */
export class Reaper {
  private readonly fns: Array<() => unknown> = [];
  private readonly pids = new Set<number>();

  constructor() {
    onTestFinished(() => this.run());
  }

  add(fn: () => unknown): void {
    this.fns.push(fn);
  }

  pid(pid: number | undefined): void {
    if (pid !== undefined) this.pids.add(pid);
  }

  private async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.fns.length > 0) {
      try {
        await this.fns.pop()!();
      } catch (err) {
        errors.push(err);
      }
    }
    for (const pid of this.pids) {
      if (isGone(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended meanwhile
      }
    }
    try {
      await waitGone([...this.pids], 5_000, 'after the test');
    } catch (err) {
      errors.push(err);
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** A private temporary folder, removed after the test. */
export function tempDir(reaper: Reaper): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-lifecycle-'));
  reaper.add(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** How a process ended, and when (Date.now()). */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** A child process of this test, with its stderr kept and its stdout read as JSON lines. */
export interface Proc {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  exited: Promise<Ended>;
  stderr(): string;
  /** The next stdout line that parses as JSON. */
  nextJson<T = unknown>(): Promise<T>;
}

/** Starts a process with piped stdio; the reaper kills it after the test if it still runs. */
export function startProcess(reaper: Reaper, command: string, args: string[], env?: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { cwd: ROOT, stdio: 'pipe', env: env ?? process.env });
  if (child.pid === undefined) throw new Error(`cannot start ${command} ${args.join(' ')}`);
  reaper.pid(child.pid);
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  child.stdin.on('error', () => {}); // it may exit before reading what we write
  const exited = new Promise<Ended>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const lines: unknown[] = [];
  let waiter: (() => void) | undefined;
  let closed = false;
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      return; // not ours: a stray log line
    }
    waiter?.();
  });
  rl.on('close', () => {
    closed = true;
    waiter?.();
  });
  const nextJson = async <T>(): Promise<T> => {
    while (lines.length === 0) {
      if (closed) throw new Error(`${command} ${args.join(' ')} closed stdout before printing JSON; stderr:\n${err}`);
      await new Promise<void>((r) => (waiter = r));
    }
    return lines.shift() as T;
  };
  return { child, pid: child.pid, exited, stderr: () => err, nextJson };
}

/** Runs a TypeScript fixture (test/lifecycle/fixtures/NAME) as its own node process, no wrapper. */
export function startFixture(reaper: Reaper, name: string, args: string[] = []): Proc {
  return startProcess(reaper, process.execPath, ['--import', 'tsx', join(FIXTURES, name), ...args]);
}

/**
 * Starts the agent bundle. With `stdinLine` the credentials go in on stdin, which then stays
 * open (the lifeline) until the test closes it or ends.
 */
export function startAgent(reaper: Reaper, opts: { args?: string[]; stdinLine?: string } = {}): Proc {
  const p = startProcess(reaper, process.execPath, [AGENT_BUNDLE, ...(opts.args ?? [])]);
  if (opts.stdinLine !== undefined) p.child.stdin.write(opts.stdinLine);
  return p;
}


/**
 * An embedded session with one agent of one slot, its pid reaped after the test, its
 * controller's log lines kept, and a spy that counts launches from now on.
 */
export async function oneAgentSession(reaper: Reaper) {
  const logs: string[] = [];
  const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1 } }, waitForAgents: 1, controller: { log: (l) => logs.push(l) } });
  reaper.add(() => fl.close());
  const controller = fl.controller!;
  const pool = controller.pools.get('local')!;
  const pid = [...pool.handles.values()][0]!.pid!;
  reaper.pid(pid);
  const launch = vi.spyOn(pool.launcher, 'launch');
  return { fl, controller, pool, pid, launch, logs };
}
