/**
 * What a batch system (SLURM, Grid Engine, ...) must say for flotilla to run agents in its jobs:
 * how to submit a script as an array, read the states of jobs, cancel them, write resources as
 * the script's header lines, and where each element's log goes. Everything else (arrays for
 * agents started together, credentials on stdin, tracking, hand-back of tasks, log tails,
 * rate limits, retries, cancel on close, `via` and the relay) is the batch launcher's, once.
 */
import type { CommandResult } from '../shell.js';

/** Runs one shell command line where the batch system's commands are (here, or a login node). */
export type Run = (cmd: string) => Promise<CommandResult>;

/** One element of a job in the queue. */
export interface QueuedElement {
  /** `failed`: it sits in the queue but can never run (Grid Engine's `Eqw`); it is cancelled. */
  phase: 'queued' | 'running' | 'failed';
  /** The system's own word, shown in status (`PENDING`, `RUNNING`, `qw`, `r`...). */
  state: string;
}

/** How an element that has left the queue ended. */
export interface EndedElement {
  /** The system's own word: `COMPLETED`, `CANCELLED`, `TIMEOUT`, `FAILED`, `OUT_OF_MEMORY`, `NODE_FAIL`... */
  state: string;
  /** Its exit code (0 when the system does not know). */
  exitCode: number;
  /** True when it ended normally (the agent left by itself). */
  ok: boolean;
}

/** What the header of a script needs. */
export interface HeaderInput<R> {
  /** The job's name (`flotilla-<pool>`). */
  name: string;
  /** Folder of the job logs (exists, shared with the compute nodes). */
  workDir: string;
  resources: R;
}

/** One batch system, as a small adapter. `R` is its resource options. */
export interface BatchSystem<R = unknown> {
  /** Its name in messages: `'SLURM'`, `'Grid Engine'`. */
  readonly title: string;
  /** Its `launcher` word and the prefix of its log lines: `'slurm'`, `'sge'`. */
  readonly kind: string;
  /** The submit command, named in refusals: `'sbatch'`, `'qsub'`. */
  readonly submitter: string;
  /** The variable holding an element's index inside its job, and the index of the first element. */
  readonly element: { variable: string; first: number };
  /** The script's header lines, directive prefix included (`#SBATCH --time=10`, `#$ -l h_rt=600`). */
  header(input: HeaderInput<R>): string[];
  /** The command line that submits `script` as an array of `n` elements. */
  submitCommand(script: string, n: number): string;
  /** The job id in the submit command's output, or undefined when it printed none. */
  parseJobId(stdout: string): string | undefined;
  /** Submit errors worth another try (busy or briefly unreachable controller). */
  readonly transient: RegExp;
  /** The key of element `i` (0-based) of job `id`, as the system writes it: `12_0`, `12.1`. */
  elementKey(id: string, i: number): string;
  /** The log of element `i` of job `id`, under `workDir`. */
  logPath(workDir: string, name: string, id: string, i: number): string;
  /**
   * The elements among `keys` still in the queue, by key; one not in the map has left it. Throws
   * when the system cannot be asked (the next check tries again).
   */
  queue(run: Run, keys: string[]): Promise<Map<string, QueuedElement>>;
  /** How an element that has left the queue ended; undefined while the system cannot tell yet. */
  ended(run: Run, key: string): Promise<EndedElement | undefined>;
  /** The command line that cancels these jobs or elements. */
  cancelCommand(keys: string[]): string;
}
