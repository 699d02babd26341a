/**
 * A runtime given by path, put into this machine's `~/.cache/flotilla/runtime/<sha256>/node`:
 * for SLURM pools that submit from here, whose compute nodes share this home folder.
 */
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FlotillaError } from '../../contract/errors.js';
import { fileRuntime } from './obtain.js';
import type { AgentRuntime } from './index.js';
import { REMOTE_RUNTIMES } from './upload.js';

/** Copies the runtime at `path` into the local runtime cache (once) and checks that it runs. */
export async function installLocally(path: string): Promise<AgentRuntime> {
  const rt = await fileRuntime(path);
  const dir = join(homedir(), REMOTE_RUNTIMES, rt.sha256);
  const dest = join(dir, 'node');
  const have = await stat(dest).catch(() => undefined);
  if (have?.size !== rt.size) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${dest}.${process.pid}.tmp`;
    await copyFile(rt.file, tmp);
    await rename(tmp, dest);
  }
  const { execa } = await import('execa'); // on first use, not with the controller
  const r = await execa(dest, ['-v'], { reject: false });
  if (r.exitCode !== 0) throw new FlotillaError('LAUNCH_FAILED', `runtime ${rt.origin} does not run on this machine: ${String(r.stderr).trim().slice(-300)}`);
  return { source: 'provided', path: dest, version: String(r.stdout).trim(), origin: rt.origin, sha256: rt.sha256 };
}
