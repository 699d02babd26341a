/**
 * Finding processes by a tag in their environment. A test that hands its agents (or the program
 * that launches them) a unique FLOTILLA_TEST_TAG can then prove that none of them runs any more,
 * including agents it never saw: relaunched ones, ones killed mid-start, ones of a child process.
 * Scans /proc (Linux), so it sees orphans too, whoever their parent is now.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { pollDelay } from './async.js';
import { scaled } from './timing.js';

export const TAG_VAR = 'FLOTILLA_TEST_TAG';

/** A tag no other test (or concurrent suite) uses. */
export function newTag(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Pids of running processes (zombies excluded) whose environment holds `FLOTILLA_TEST_TAG=tag`, this one aside. */
export function taggedProcesses(tag: string): number[] {
  return processesWithEnv(`${TAG_VAR}=${tag}`);
}

/**
 * Pids of running processes (zombies excluded) whose environment holds `entry` (`NAME=value`),
 * or an entry `entry` accepts, this one aside.
 */
export function processesWithEnv(entry: string | ((e: string) => boolean)): number[] {
  const has = typeof entry === 'string' ? (e: string) => e === entry : entry;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some(has)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // exited, not yet reaped
      out.push(pid);
    } catch {
      // ended while we looked, or not ours to read
    }
  }
  return out;
}

/** Polls until no tagged process runs; returns how long that took, or fails naming the survivors. */
export async function waitNoneTagged(tag: string, bound: number, what: string): Promise<number> {
  const ms = scaled(bound);
  const t0 = Date.now();
  for (let n = 0; ; n++) {
    const alive = taggedProcesses(tag);
    if (alive.length === 0) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: tagged process(es) ${alive.map(describeProcess).join(', ')} still running after ${ms} ms`);
    await new Promise((r) => setTimeout(r, pollDelay(n)));
  }
}

/** `pid (its command line)`, for messages. */
export function describeProcess(pid: number): string {
  try {
    return `${pid} (${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 120)})`;
  } catch {
    return String(pid);
  }
}

/** Waits (polling: another process ending has no event here) up to `bound` for none to carry `entry`; returns those that still do. */
export async function survivors(entry: string | ((e: string) => boolean), bound: number): Promise<number[]> {
  const ms = scaled(bound);
  const t0 = Date.now();
  for (let n = 0; ; n++) {
    const alive = processesWithEnv(entry);
    if (alive.length === 0 || Date.now() - t0 > ms) return alive;
    await new Promise((r) => setTimeout(r, pollDelay(n)));
  }
}

/** Ends `pids` (SIGKILL) and returns how to name them. */
export function killAll(pids: number[]): string[] {
  const names = pids.map(describeProcess);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  return names;
}
