/**
 * A `flotilla controller` process started from dist/, for tests that drive the CLI or connect
 * to a standalone controller: its URL, token, what it printed, and a stop that waits for it.
 * Its reaper stops it (and removes its state folder) at the end, whatever the test did.
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { within } from './async.js';
import { ROOT, startProcess } from './process.js';
import type { Proc } from './process.js';
import type { Reaper } from './reaper.js';

export const CLI = join(ROOT, 'dist', 'server', 'cli.js');

export interface CliController {
  proc: Proc;
  url: string;
  stateDir: string;
  tokenFile: string;
  /** The token in `tokenFile` ('' with --no-token). */
  token: string;
  /** The TLS certificate's fingerprint, with --tls. */
  fingerprint?: string;
  /** Everything it wrote to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, and waits for it to end (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILLs it (its agents leave by their grace period), and waits for it to be gone. */
  kill(): Promise<void>;
}

/** Options of {@link startCliController}. */
export interface CliControllerOptions {
  /** Over this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** @default a temporary folder of the reaper */
  stateDir?: string;
  /** Runs it through `sh -c` after this prefix (e.g. `ulimit -n 1024;`). */
  shell?: string;
}

/**
 * Starts `flotilla controller --port 0 --state-dir <private folder> ...args` and resolves once it
 * has printed how to connect (fails with what it printed if it exits first).
 */
export async function startCliController(reaper: Reaper, args: string[] = [], opts: CliControllerOptions = {}): Promise<CliController> {
  const stateDir = opts.stateDir ?? join(reaper.tempDir('flotilla-cli-'), 'state');
  const argv = [CLI, 'controller', '--port', '0', '--state-dir', stateDir, ...args];
  const env = { ...process.env, ...opts.env };
  const proc = opts.shell
    ? startProcess(reaper, 'sh', ['-c', `${opts.shell} exec "$@"`, 'sh', process.execPath, ...argv], env)
    : startProcess(reaper, process.execPath, argv, env);
  const stop = async (signal: NodeJS.Signals) => {
    proc.child.kill(signal);
    await within(proc.exited, 10_000, 'the controller to stop').catch(() => proc.child.kill('SIGKILL'));
    await proc.exited;
  };
  reaper.add(() => stop('SIGTERM'));
  let out = '';
  proc.child.stdout.setEncoding('utf8');
  const printed = new Promise<void>((resolve, reject) => {
    proc.child.stdout.on('data', (d: string) => {
      out += d;
      if (/connect with: .*\n/.test(out)) resolve();
    });
    void proc.exited.then((e) => reject(new Error(`the controller exited (${e.code ?? e.signal}) before listening: ${out}${proc.stderr()}`)));
  });
  await within(printed, 20_000, () => `the controller to print its URL; stdout: ${out}; stderr: ${proc.stderr()}`);
  const tokenFile = /token file: (\S+)/.exec(out)?.[1] ?? join(stateDir, 'token');
  return {
    proc,
    url: /listening on (\S+)/.exec(out)![1]!,
    stateDir,
    tokenFile,
    token: existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '',
    fingerprint: /fingerprint: ([0-9A-F:]{95})/.exec(out)?.[1],
    stdout: () => out,
    stderr: () => proc.stderr(),
    stop: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
  };
}

/** Runs one CLI command to its end (never longer than `timeout`), without throwing on a non-zero exit. */
export function runCli(args: string[], env: Record<string, string> = {}, timeout = 30_000) {
  return execa('node', [CLI, ...args], { reject: false, timeout, env: { FLOTILLA_URL: '', FLOTILLA_TOKEN: '', ...env } });
}
