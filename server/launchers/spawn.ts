/**
 * Child processes that may fail to start (EMFILE when descriptors run out, EAGAIN, ENOENT)
 * without taking the controller down: the 'error' listener is attached before anything can be
 * emitted, and a failed start is a rejected promise that names the command and the reason.
 * Children still running when the controller's process exits are killed with it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { FlotillaError } from '../../contract/errors.js';

const live = new Set<ChildProcess>();
let hooked = false;

function killLiveOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** Starts `file` and resolves once it runs; rejects LAUNCH_FAILED with the reason if it cannot start. */
export function startChild(file: string, args: readonly string[], opts: SpawnOptions): Promise<ChildProcess> {
  killLiveOnExit();
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(new FlotillaError('LAUNCH_FAILED', `cannot start ${file}: ${err.message}`, { cause: err }));
    let child: ChildProcess;
    try {
      child = spawn(file, args, opts);
    } catch (err) {
      return failed(err as Error);
    }
    child.once('error', failed);
    child.once('spawn', () => {
      child.off('error', failed);
      // Later errors (a kill that fails, a pipe that breaks) are not the controller's end.
      child.on('error', () => {});
      live.add(child);
      child.once('exit', () => live.delete(child));
      resolve(child);
    });
  });
}

/** Output of a short command, each stream capped so a chatty one cannot fill memory. */
export interface CommandOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

const MAX_OUTPUT = 1024 * 1024;

/**
 * Runs `sh -c cmd` with `input` on stdin (and `env` as its whole environment, when given); a
 * command that cannot start gives code null and the reason in stderr.
 */
export async function runCommand(cmd: string, input = '', env?: NodeJS.ProcessEnv): Promise<CommandOutput> {
  let child: ChildProcess;
  try {
    child = await startChild('sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  } catch (err) {
    return { code: null, stdout: '', stderr: (err as Error).message };
  }
  const out = { stdout: '', stderr: '' };
  for (const k of ['stdout', 'stderr'] as const) {
    child[k]!.setEncoding('utf8');
    child[k]!.on('data', (s: string) => void (out[k].length < MAX_OUTPUT && (out[k] += s)));
  }
  child.stdin!.on('error', () => {}); // a command that does not read its input
  child.stdin!.end(input);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, ...out };
}
