/** A standalone controller (the CLI, its own process) for tests of its client endpoint. */
import { join } from 'node:path';
import { Reaper, ROOT, startProcess, tempDir, within } from '../lifecycle/helpers.js';
import type { Proc } from '../lifecycle/helpers.js';

export const CLI = join(ROOT, 'dist', 'server', 'cli.js');

export interface CliController {
  proc: Proc;
  url: string;
  stateDir: string;
  tokenFile: string;
  token: string;
  fingerprint?: string;
  /** Everything it printed on stdout so far. */
  stdout(): string;
}

/**
 * Starts `flotilla controller` on a free port with its own state folder and waits for it to
 * print its URL. `shell` runs it through `sh -c` after that prefix (e.g. `ulimit -n 1024;`).
 */
export async function startCli(reaper: Reaper, args: string[] = [], opts: { env?: NodeJS.ProcessEnv; stateDir?: string; shell?: string } = {}): Promise<CliController> {
  const stateDir = opts.stateDir ?? join(tempDir(reaper), 'state');
  const argv = [CLI, 'controller', '--port', '0', '--state-dir', stateDir, '--agents', '1', ...args];
  const proc = opts.shell
    ? startProcess(reaper, 'sh', ['-c', `${opts.shell} exec "$@"`, 'sh', process.execPath, ...argv], opts.env)
    : startProcess(reaper, process.execPath, argv, opts.env);
  let out = '';
  proc.child.stdout.setEncoding('utf8');
  const printed = new Promise<void>((resolve, reject) => {
    proc.child.stdout.on('data', (d: string) => {
      out += d;
      if (/connect with: .*\n/.test(out)) resolve();
    });
    void proc.exited.then((e) => reject(new Error(`the controller exited (${e.code ?? e.signal}) before listening: ${proc.stderr()}`)));
  });
  await within(printed, 20_000, () => `the controller to print its URL; stdout: ${out}; stderr: ${proc.stderr()}`);
  reaper.add(async () => {
    proc.child.kill('SIGTERM');
    await within(proc.exited, 10_000, 'the controller to stop').catch(() => proc.child.kill('SIGKILL'));
  });
  const url = /listening on (\S+)/.exec(out)![1]!;
  const tokenFile = join(stateDir, 'token');
  const { readFileSync } = await import('node:fs');
  const token = readFileSync(tokenFile, 'utf8').trim();
  const fingerprint = /fingerprint: ([0-9A-F:]{95})/.exec(out)?.[1];
  return { proc, url, stateDir, tokenFile, token, fingerprint, stdout: () => out };
}
