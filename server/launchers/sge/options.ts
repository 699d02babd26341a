import type { BatchPoolOptions } from '../batch/options.js';

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
