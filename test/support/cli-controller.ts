/**
 * A `flotilla controller` process started from dist/, for tests that drive the CLI or connect
 * to a standalone controller: its URL, token file, what it printed, and a stop that waits for it.
 */
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../dist/server/cli.js');

export interface CliController {
  url: string;
  tokenFile: string;
  stateDir: string;
  /** Everything it wrote to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
  /** SIGKILLs it (its agents leave by their grace period), and waits for it to be gone. */
  kill(): Promise<void>;
}

/** Starts a controller on a free port with its own state folder; resolves once it has printed how to connect. */
export async function startCliController(args: string[] = [], env: Record<string, string> = {}): Promise<CliController> {
  const stateDir = mkdtempSync(join(tmpdir(), 'flotilla-cli-'));
  const proc: ResultPromise = execa('node', [CLI, 'controller', '--port', '0', '--state-dir', stateDir, ...args], { reject: false, buffer: false, env });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (/connect with: .*\n/.test(out)) resolve();
    });
    void proc.then(() => reject(new Error(`controller exited early: ${out}${err}`)));
  });
  return {
    url: /listening on (\S+)/.exec(out)![1]!,
    tokenFile: /token file: (\S+)/.exec(out)?.[1] ?? '',
    stateDir,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      proc.kill('SIGTERM');
      await proc;
      rmSync(stateDir, { recursive: true, force: true });
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await proc;
    },
  };
}

/** Runs one CLI command to its end (never longer than `timeout`), without throwing on a non-zero exit. */
export function runCli(args: string[], env: Record<string, string> = {}, timeout = 30_000) {
  return execa('node', [CLI, ...args], { reject: false, timeout, env: { FLOTILLA_URL: '', FLOTILLA_TOKEN: '', ...env } });
}
