/**
 * A controller process started with the CLI (2 local agents, one slot each), for benchmarks of
 * remote clients. `--cpu-prof` it with `profileDir`; `stop()` ends it with SIGTERM so its
 * profile is written.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './measure.js';
import { freePort } from '../support/ports.js';

const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));

export interface CliController {
  url: string;
  tokenFile: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startCliController(opts: { agents?: number; profileDir?: string; durable?: boolean } = {}): Promise<CliController> {
  const state = tempDir('flotilla-bench-ctl-');
  const port = await freePort();
  const prof = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const args = [...prof, CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', String(opts.agents ?? 2), '--slots', '1'];
  if (!opts.durable) args.push('--no-durable');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
      child.once('exit', (code) => reject(new Error(`controller exited with ${code}`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  child.stdout.resume();
  return { url: `http://127.0.0.1:${port}`, tokenFile: join(state, 'token'), pid: child.pid!, stop };
}
