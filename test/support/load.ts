/**
 * Artificial machine load for tests that must hold on a busy machine: CPU-bound and I/O-bound
 * processes (test/support/load-proc.mjs) that the test starts and stops itself.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LOAD_PROC = fileURLToPath(new URL('./load-proc.mjs', import.meta.url));

/** What to start: processes spinning on a core, processes writing and fsyncing files. */
export interface LoadOptions {
  cpu: number;
  io: number;
}

/** Running load; `stop()` ends every process of it and removes its scratch folder. */
export interface Load {
  pids: number[];
  stop(): Promise<void>;
}

/** Starts `cpu` + `io` load processes beside the caller. */
export function startLoad({ cpu, io }: LoadOptions): Load {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-load-'));
  const kids: ChildProcess[] = [];
  const start = (args: string[]) => {
    const child = spawn(process.execPath, [LOAD_PROC, ...args], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    kids.push(child);
  };
  for (let i = 0; i < cpu; i++) start(['cpu']);
  for (let i = 0; i < io; i++) start(['io', dir]);
  return {
    pids: kids.map((k) => k.pid!).filter((p) => p !== undefined),
    async stop() {
      const ended = kids.map((k) => (k.exitCode !== null || k.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => k.once('exit', () => r()))));
      for (const k of kids) k.stdin?.end();
      // A process stuck in an fsync still ends once it returns; SIGKILL if it takes long.
      const force = setTimeout(() => kids.forEach((k) => k.kill('SIGKILL')), 5_000);
      await Promise.all(ended);
      clearTimeout(force);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
