import type { CommonPoolOptions } from '../../pool-options.js';
import type { SshPoolOptions } from '../ssh/options.js';
import type { RuntimeOption } from '../../../contract/agent-types.js';

/**
 * The courtesies of a shared cluster, for every batch system that has them, written as each
 * system's own flags (`sbatch --begin/--nice/--nodelist/--exclude/--exclusive`, `qsub -a/-p/-l
 * hostname/-l exclusive`).
 */
export interface PoliteOptions {
  /** Start no job before this time: `'22:00'` (the next one), a `Date`, or a delay like `'2h'`. */
  begin?: string | Date;
  /** Lower the jobs' priority by this much (SLURM `--nice`, Grid Engine `-p -N`). */
  nice?: number;
  /** Run only on these nodes. */
  nodelist?: string[];
  /** Never run on these nodes. */
  exclude?: string[];
  /** Whole nodes, shared with no other job. */
  exclusive?: boolean;
}

/**
 * Options every batch pool takes, whatever the system. Besides those of every pool: `max` (the
 * most jobs at once, @default `agents` or 1), `min` (@default 0 with `max`), `walltime`
 * (@default the job's time limit: each agent leaves before the system would end its job).
 * `cores: 'all'` takes every core of the node a job lands on (with `exclusive`) or every slot it
 * was given, and the agent sizes its task slots from what it got (`SLURM_CPUS_ON_NODE`, `NSLOTS`).
 */
export interface BatchPoolOptions extends Omit<CommonPoolOptions, 'cores'>, PoliteOptions {
  /**
   * The login node, as an SSH host (alias or `[user@]host[:port]`); the submit command runs there
   * and agents reach the controller through a relay on it. Omit when the controller runs on the
   * login node itself.
   */
  via?: string;
  /** A fixed number of agents (one job each): the same as `min` and `max` both set to it. */
  agents?: number;
  /** Task slots per agent. @default the job's cores (its CPUs or slots), else 1 */
  slots?: number;
  /** Cores one task slot gets, or `'all'`: the agent takes what its job got and sizes its slots from it. */
  cores?: number | 'all';
  /** Node on the compute nodes. @default 'node' */
  node?: string;
  /** Shell run before node in the job, e.g. `module load nodejs/20`. */
  setup?: string;
  /**
   * Where a missing or too old Node comes from, as for SSH pools. Through `via`, the login node
   * is probed and a provided runtime goes once into its `~/.cache/flotilla/runtime/`, which the
   * compute nodes share; every job runs it. Without `via`, `'auto'` and `'host'` run the jobs'
   * `node`, and a path is copied into this machine's `~/.cache/flotilla/runtime/`.
   * @default 'auto'
   */
  runtime?: RuntimeOption;
  /** Where job scripts and logs go on the submit host (shared with compute nodes). @default ~/.cache/flotilla/<launcher> */
  workDir?: string;
  /** `ADDR:PORT` the relay on the login node listens on, reachable from compute nodes (with `via`). @default '0.0.0.0:0' */
  relayListen?: string;
  /** Address compute nodes dial the relay at, when `relayListen` binds a wildcard. @default the login node's hostname */
  relayAdvertise?: string;
  /** Seconds between queue checks. @default 2 */
  pollSeconds?: number;
  /** SSH settings for `via`. */
  ssh?: Omit<SshPoolOptions, 'launcher' | 'hosts' | 'agentsPerHost' | 'slots' | 'detached' | keyof CommonPoolOptions>;
}
