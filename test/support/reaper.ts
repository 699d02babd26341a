/**
 * Ends everything a test started, whatever happened in it: cleanup functions in reverse order,
 * then SIGKILL for any process still running, then a check that all of them are gone. One
 * reaper serves one test (`new Reaper()` inside it), every test of a file
 * (`Reaper.afterEach()` at the top) or a whole file (`Reaper.afterAll()`, for what beforeAll
 * starts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, onTestFinished } from 'vitest';
import { pollDelay } from './async.js';
import { scaled } from './timing.js';

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
 * Polls (every 10 to 100 ms, up to `bound`, scaled) until every pid is gone; returns how long
 * that took. Another process ending has no event this process can wait on, hence the poll.
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

/** What a test started and must end: cleanup functions and process ids. */
export class Reaper {
  private readonly fns: Array<() => unknown> = [];
  private readonly pids = new Set<number>();
  private readonly dirs: string[] = [];

  /** A reaper for the current test: it runs when the test finishes. Call it inside a test. */
  constructor(scope: 'test' | 'manual' = 'test') {
    if (scope === 'test') onTestFinished(() => this.run());
  }

  /** One reaper for every test of a file, run after each. Call it at the top of the file. */
  static afterEach(): Reaper {
    const r = new Reaper('manual');
    afterEach(() => r.run());
    return r;
  }

  /** One reaper for what a file's beforeAll starts, run after all its tests. Call it at the top of the file. */
  static afterAll(): Reaper {
    const r = new Reaper('manual');
    afterAll(() => r.run());
    return r;
  }

  /** Runs `fn` at the end (the last added first). */
  add(fn: () => unknown): void {
    this.fns.push(fn);
  }

  /** Makes sure process `pid` is gone at the end (SIGKILL when the cleanups left it running). */
  pid(pid: number | undefined): void {
    if (pid !== undefined) this.pids.add(pid);
  }

  /** A private temporary folder, removed at the end, once the processes are gone. */
  tempDir(prefix = 'flotilla-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Runs every cleanup (all of them, even when one fails), ends the processes left, removes the folders. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.fns.length > 0) {
      try {
        await this.fns.pop()!();
      } catch (err) {
        errors.push(err);
      }
    }
    const pids = [...this.pids];
    this.pids.clear();
    for (const pid of pids) {
      if (isGone(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended meanwhile
      }
    }
    try {
      await waitGone(pids, 5_000, 'after the test');
    } catch (err) {
      errors.push(err);
    }
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, `cleanup failed: ${errors.map((e) => (e as Error).message).join('; ')}`);
  }
}

/** A private temporary folder, removed when `reaper` runs. */
export function tempDir(reaper: Reaper, prefix = 'flotilla-lifecycle-'): string {
  return reaper.tempDir(prefix);
}
