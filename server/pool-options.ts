/**
 * Pool options as users give them, checked once (naming the first bad one) and turned into a
 * plan (how many agents, how long each lives, what one task slot gets) and a launcher, through
 * the registered launcher kinds (launchers/registry.ts): child processes for `local`, hosts
 * over SSH for `ssh`, batch jobs for `slurm` and `sge`.
 */
import { badInput } from '../contract/errors.js';
import { checkOptions } from '../contract/option-check.js';
import { poolOptionsSchema } from './pool-schema.js';
import type { Launcher } from './launchers/launcher.js';
import type { LauncherContext, LauncherKind } from './launchers/kind.js';
import { launcherKinds } from './launchers/registry.js';
import type { PoolOptions } from '../contract/controller-options.js';
import { positive } from './launchers/plan-parts.js';

export type { PoolOptions };

/** What one task slot of a pool gets; `undefined` where the pool cannot tell before it runs. */
export interface SlotOffer {
  cores: number | undefined;
  memoryMb: number | undefined;
  gpus: number;
}

/** What a Pool needs, whatever its launcher. */
export interface PoolPlan {
  options: PoolOptions;
  /** Its agents run on this machine (they dial the controller's local socket). */
  local: boolean;
  /** Most agents at once: the same as `max` (the name predates autoscaling). */
  agents: number;
  min: number;
  max: number;
  /** Slots per agent; undefined lets each agent use its cores. */
  slots: number | undefined;
  /** The pool retires an agent idle this long while above `min`. */
  idleTimeoutMs: number;
  /** Agents exit on their own after this long without a task. */
  agentIdleTimeoutMs: number;
  graceMs: number | undefined;
  maxTasks: number | undefined;
  walltimeMs: number | undefined;
  /** An agent that has connected no lane this long after it started is stopped as a failed launch. */
  connectTimeoutMs: number | undefined;
  maxLaunching: number;
  slot: SlotOffer;
  labels: string[];
}

const DEFAULT_IDLE_MS = 5 * 60_000;
const MIN_AGENT_IDLE_MS = 10 * 60_000;

/** Checks every pool's options before anything is started. */
export function planPools(pools: Record<string, PoolOptions> | undefined): Record<string, PoolPlan> {
  const out: Record<string, PoolPlan> = {};
  for (const [name, p] of Object.entries(pools ?? { local: { launcher: 'local' as const } })) {
    if (p === null || typeof p !== 'object') badInput(`pools.${name}`, p, "an object like { launcher: 'local' }");
    out[name] = planPool(name, p);
    // After the checks of values above (whose messages say what a value must be): unknown keys and types.
    checkOptions(poolOptionsSchema, p, '', `pools.${name}`);
  }
  return out;
}

/** The registered kind of a pool's `launcher` word. */
function kindOf(name: string, p: PoolOptions): LauncherKind<PoolOptions> {
  const word = (p as { launcher?: unknown }).launcher;
  const kind = typeof word === 'string' && Object.hasOwn(launcherKinds, word) ? launcherKinds[word as keyof typeof launcherKinds] : undefined;
  const words = Object.keys(launcherKinds).map((k) => `'${k}'`);
  if (!kind) badInput(`pools.${name}.launcher`, word, `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`);
  return kind as unknown as LauncherKind<PoolOptions>;
}

function planPool(name: string, p: PoolOptions): PoolPlan {
  const at = (k: string) => `pools.${name}.${k}`;
  const kind = kindOf(name, p);
  for (const k of ['slots', 'idleTimeoutMs', 'graceMs', 'max', 'maxTasks', 'maxLaunching'] as const) positive(at(k), p[k]);
  if (p.cores !== 'all') positive(at('cores'), p.cores);
  positive(at('memoryMb'), p.memoryMb, false);
  if (p.min !== undefined && !(Number.isInteger(p.min) && p.min >= 0)) badInput(at('min'), p.min, 'an integer >= 0');
  if (p.gpus !== undefined && !(Number.isFinite(p.gpus) && p.gpus >= 0)) badInput(at('gpus'), p.gpus, 'a number >= 0');
  if (p.labels !== undefined && !(Array.isArray(p.labels) && p.labels.every((l) => typeof l === 'string' && l.length > 0))) badInput(at('labels'), p.labels, "a list of labels like ['gpu', 'bigmem']");
  const idleTimeoutMs = p.idleTimeout === undefined ? (p.idleTimeoutMs ?? DEFAULT_IDLE_MS) : durationMs(p.idleTimeout, at('idleTimeout'));
  const walltimeMs = p.walltime === undefined || p.walltime === false ? undefined : durationMs(p.walltime, at('walltime'));
  const connectTimeoutMs = p.connectTimeout === undefined
    ? kind.defaults.connectTimeoutMs
    : p.connectTimeout === false ? undefined : durationMs(p.connectTimeout, at('connectTimeout'));
  const own = kind.plan({ options: p, at, walltimeMs });
  return {
    ...own,
    options: p,
    local: kind.local,
    agents: own.max,
    connectTimeoutMs,
    idleTimeoutMs,
    agentIdleTimeoutMs: p.idleTimeoutMs ?? Math.max(MIN_AGENT_IDLE_MS, 2 * idleTimeoutMs),
    graceMs: p.graceMs,
    maxTasks: p.maxTasks,
    labels: p.labels ?? [],
  };
}

/** Milliseconds from `'5m'`, `'90s'`, `'1h'`, `'2d'`, `'250ms'` or a number of milliseconds. */
export function durationMs(v: string | number, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m || Number(m[1]) <= 0) badInput(what, v, "a duration like '5m', '90s', '1h' or a positive number of milliseconds");
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd']);
}

/** The launcher of a planned pool, made by its kind. */
export function createLauncher(name: string, plan: PoolPlan, ctx: LauncherContext): Launcher {
  return kindOf(name, plan.options).create(name, plan.options, ctx);
}
