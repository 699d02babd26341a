/**
 * Every launcher kind, by its `launcher` word. Pools are planned and their launchers created
 * through this table: adding a kind adds a line here (and its schema in schemas.ts), and
 * touches no switch in pool or controller code.
 */
import { localKind } from './local/kind.js';
import { sshKind } from './ssh/kind.js';
import { slurmKind } from './slurm/kind.js';
import { sgeKind } from './sge/kind.js';
import type { OptionsOf } from './kind.js';

export const launcherKinds = {
  local: localKind,
  ssh: sshKind,
  slurm: slurmKind,
  sge: sgeKind,
} as const;

/** Any registered kind's pool options. */
export type RegisteredPoolOptions = OptionsOf<(typeof launcherKinds)[keyof typeof launcherKinds]>;
