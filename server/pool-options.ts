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
import type { RegisteredPoolOptions } from './launchers/registry.js';
import { positive } from './launchers/plan-parts.js';

/** Options every pool takes, whatever its launcher. */
export interface CommonPoolOptions {
  /**
   * Fewest agents while the pool is in use: started with it, replaced when lost. One that leaves
   * by its own `idleTimeoutMs` is started again when work comes.
   * @default 0 when `max` is given, else all of them
   */
  min?: number;
  /** Most agents at once; the pool grows towards it while tasks wait for a slot. */
  max?: number;
  /** The pool retires an agent idle this long while it has more than `min`: `'5m'`, `'90s'` or ms. @default `idleTimeoutMs`, else 5 minutes */
  idleTimeout?: string | number;
  /**
   * An agent exits on its own after this long without a task (ms): the backstop for when no
   * controller retires it, so larger than `idleTimeout`. @default twice `idleTimeout`, at least 10 minutes
   */
  idleTimeoutMs?: number;
  /** An agent that cannot reach the controller for this long exits (ms). @default 30 s */
  graceMs?: number;
  /** Tasks an agent runs before it is retired (and replaced while still needed), e.g. to bound a leak. @default no limit */
  maxTasks?: number;
  /**
   * How long an agent may live (`'12h'` or ms). It stops taking tasks and is replaced before
   * then (5% earlier, at most 5 min), at a time spread over a further 15% (at most 30 min) so
   * agents started together do not leave together. `false`: no limit.
   * @default slurm: `resources.time`; sge: `resources.h_rt`; others: no limit
   */
  walltime?: string | number | false;
  /**
   * An agent launched that has connected no lane this long after it started (`'90s'` or ms) is
   * stopped and counts as a failed launch. Counted from the launch; for SLURM from when its job is
   * seen RUNNING (within `pollSeconds`), since waiting in the queue is normal. `false`: no limit.
   * @default local and ssh: 60 s; slurm and sge: no limit
   */
  connectTimeout?: string | number | false;
  /** Agents launched and not connected yet, at most (for batch pools: jobs queued and not running yet). @default 16; slurm and sge: `max` */
  maxLaunching?: number;
  /** What a map's `requires.labels` can ask for, e.g. `['bigmem']`. */
  labels?: string[];
  /**
   * Cores one task slot gets; its tasks see OMP_NUM_THREADS and the like set to it.
   * @default local: the machine's cores over `max` × `slots`; slurm: `cpusPerTask / slots`; sge: pe `slots / slots`; ssh: the host's cores over the agent's slots
   */
  cores?: number;
  /** Memory one task slot may use (MB), for routing. @default local: the machine's memory over `max` × `slots`; slurm: `mem / slots`; sge: `h_vmem` × pe slots over `slots`; ssh: unknown */
  memoryMb?: number;
  /** GPUs one task slot gets, for routing. @default slurm: its `gres`/`gpus` over `slots`; others: 0 */
  gpus?: number;
}

/** Any pool's options; `launcher` says which kind (one of the registered kinds). */
export type PoolOptions = RegisteredPoolOptions;

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
