import type { BatchPoolOptions } from '../batch/options.js';

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
 * Options of a pool of agents inside SLURM jobs: those of every batch pool (`via`, `agents`,
 * `slots`, `node`, `setup`, `runtime`, `workDir`, relay, `pollSeconds`, `ssh`, and the polite
 * `begin`, `nice`, `nodelist`, `exclude`, `exclusive`), and SLURM's resources. Task slot
 * resources derive from `resources` (cores `cpusPerTask / slots`, memory `mem / slots`, GPUs
 * `gres / slots`); `walltime` defaults to `resources.time`.
 */
export interface SlurmPoolOptions extends BatchPoolOptions {
  launcher: 'slurm';
  /** Resources of every agent's job; merged over the named profile's. */
  resources?: SlurmResources;
  /** A named set of resources from `profiles`, so a site's settings are written once. */
  profile?: string;
  profiles?: Record<string, SlurmResources>;
}
