import type { CommonPoolOptions } from '../../pool-options.js';
import type { SshPoolOptions } from '../ssh/options.js';
import type { RuntimeOption } from '../../../contract/agent-types.js';

/** What a job asks SLURM for, as `#SBATCH` options. */
export interface SlurmResources {
  partition?: string;
  /** Wall time: `90` (minutes), `'2h'`, `'30m'`, `'1d'`, or SLURM's own `'1-02:00:00'`. */
  time?: string | number;
  /** Memory per node, e.g. `'8G'`. */
  mem?: string;
  memPerCpu?: string;
  cpusPerTask?: number;
  nodes?: number;
  ntasks?: number;
  gres?: string;
  gpus?: string | number;
  account?: string;
  qos?: string;
  constraint?: string;
  exclusive?: boolean;
  /** Further lines, without the `#SBATCH` prefix, e.g. `['--mail-type=END']`. */
  extra?: string[];
}

/**
 * Options of a pool of agents inside SLURM jobs. Besides those of every pool: `max` (the most
 * jobs at once, @default `agents` or 1), `min` (@default 0 with `max`), `walltime` (@default
 * `resources.time`: each agent leaves before SLURM would end its job), task slot resources
 * derived from `resources` (cores `cpusPerTask / slots`, memory `mem / slots`, GPUs `gres / slots`).
 */
export interface SlurmPoolOptions extends CommonPoolOptions {
  launcher: 'slurm';
  /**
   * The login node, as an SSH host (alias or `[user@]host[:port]`); `sbatch` runs there and
   * agents reach the controller through a relay on it. Omit when the controller runs on the
   * login node itself.
   */
  via?: string;
  /** Resources of every agent's job; merged over the named profile's. */
  resources?: SlurmResources;
  /** A named set of resources from `profiles`, so a site's settings are written once. */
  profile?: string;
  profiles?: Record<string, SlurmResources>;
  /** A fixed number of agents (one job each): the same as `min` and `max` both set to it. */
  agents?: number;
  /** Task slots per agent. @default resources.cpusPerTask, else 1 */
  slots?: number;
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
  /** Where job scripts and logs go on the submit host (shared with compute nodes). @default ~/.cache/flotilla/slurm */
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
