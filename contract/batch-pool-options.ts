/**
 * The options of batch pools (SLURM, Grid Engine) as users write them: plain declarations,
 * checked against the server's zod schemas by a type test.
 */
import type { CommonPoolOptions, SshPoolOptions } from './pool-options.js';
import type { RuntimeOption } from './agent-types.js';

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

/** What a job asks Grid Engine for, as `#$` options, in Grid Engine's own names. */
export interface SgeResources {
  /** Queue(s): `-q`, e.g. `'all.q'` or `'short.q,long.q'`. */
  queue?: string;
  /** Parallel environment: `-pe <pe> <slots>`, e.g. `'smp'`. */
  pe?: string;
  /** Slots of the parallel environment. @default 1 with `pe` */
  slots?: number;
  /** Hard wall-clock limit `-l h_rt`: seconds, `'2h'`, `'30m'`, or Grid Engine's `'H:MM:SS'`. */
  h_rt?: string | number;
  /** Hard virtual memory limit per slot `-l h_vmem`, e.g. `'4G'`. */
  h_vmem?: string;
  /** Free memory the host must have `-l mem_free`, e.g. `'8G'`. */
  mem_free?: string;
  /** Project `-P`. */
  project?: string;
  /** Account string `-A`. */
  account?: string;
  /** Start only after these jobs end: `-hold_jid`. */
  holdJid?: string | string[];
  /** Further lines, without the `#$` prefix, e.g. `['-l gpu=1', '-m e']`. */
  extra?: string[];
}

/**
 * Options of a pool of agents inside Grid Engine jobs: those of every batch pool (`via`,
 * `agents`, `slots`, `node`, `setup`, `runtime`, `workDir`, relay, `pollSeconds`, `ssh`, and the
 * polite `begin`, `nice`, `nodelist`, `exclude`, `exclusive`), and Grid Engine's resources.
 * Task slot resources derive from `resources` (slots of `pe`, memory `h_vmem` per slot);
 * `walltime` defaults to `resources.h_rt`.
 */
export interface SgePoolOptions extends BatchPoolOptions {
  launcher: 'sge';
  /** Resources of every agent's job; merged over the named profile's. */
  resources?: SgeResources;
  /** A named set of resources from `profiles`, so a site's settings are written once. */
  profile?: string;
  profiles?: Record<string, SgeResources>;
}
