/**
 * A child process of a test, owned by its reaper: stdio piped, stderr kept, stdout read as JSON
 * lines, and how it ended as a promise.
 */
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Reaper } from './reaper.js';

/** The repository's root folder (where dist/ is). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

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

/**
 * Starts a process with piped stdio; the reaper kills it at the end if it still runs. Unless
 * `env` names another TMPDIR, the process gets one of its own from the reaper (inside this
 * file's): what it leaves there when a test kills it (an embedded controller's state folder)
 * goes with the reaper.
 */
export function startProcess(reaper: Reaper, command: string, args: string[], env?: NodeJS.ProcessEnv): Proc {
  // A TMPDIR of its own unless the caller chose one: a process the test kills cannot clean up
  // what it keeps there (an embedded controller's state folder), and the reaper removes it.
  const base = env ?? process.env;
  let own = base;
  if (base.TMPDIR === undefined || base.TMPDIR === process.env.TMPDIR) {
    own = { ...base, TMPDIR: reaper.tempDir('flotilla-proc-') };
    chmodSync(own.TMPDIR!, 0o1777); // like /tmp: batch jobs it submits run as other users
  }
  const child = spawn(command, args, { cwd: ROOT, stdio: 'pipe', env: own });
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
