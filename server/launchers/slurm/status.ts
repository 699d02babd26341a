/**
 * Readers of what SLURM's commands print: the job id from `sbatch --parsable`, job states from
 * `squeue -h -r -o '%i|%T'`, a finished job's state and exit code from `scontrol -o show job`.
 * The text comes from another program (on another host, for a remote cluster): a line that does
 * not fit is skipped, never an exception, and nothing grows beyond the lines given.
 */

/** squeue states of a job whose agent has started (for `connectTimeout`). */
export const RUNNING_STATES: ReadonlySet<string> = new Set(['RUNNING', 'COMPLETING']);

const JOB_KEY = /^\d+(_\d+)?$/;
const STATE = /^[A-Z_]+$/;

/** The job id `sbatch --parsable` printed (`1234`, or `1234;cluster`), or undefined. */
export function parseSbatchId(stdout: string): string | undefined {
  return /^(\d+)(?:;\S*)?\s*$/.exec(stdout.trim().split('\n')[0] ?? '')?.[1];
}

/** Job element (`1234_0`, or `1234` for a plain job) to state, from squeue's `%i|%T` lines. */
export function parseQueue(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const bar = line.indexOf('|');
    if (bar < 0) continue;
    const key = line.slice(0, bar).trim(), state = line.slice(bar + 1).trim();
    if (JOB_KEY.test(key) && STATE.test(state)) out.set(key, state);
  }
  return out;
}

/** A finished job's state and exit code, from `scontrol -o show job`; COMPLETED/0 when it says neither (it has left the records). */
export function parseJobEnd(stdout: string): { state: string; exitCode: number } {
  const state = /(?:^|\s)JobState=([A-Z_]+)/.exec(stdout)?.[1] ?? 'COMPLETED';
  const code = Number(/(?:^|\s)ExitCode=(\d{1,3}):\d+/.exec(stdout)?.[1] ?? 0);
  return { state, exitCode: code <= 255 ? code : 255 };
}
