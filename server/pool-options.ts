/**
 * Pool options as users give them, checked once (naming the first bad one) and turned into a
 * plan (how many agents, how long each lives, what one task slot gets) and a launcher: child
 * processes for `local`, hosts over SSH for `ssh`, jobs for `slurm`.
 */
import { availableParallelism, totalmem } from 'node:os';
import { FlotillaError, badInput } from '../contract/errors.js';
import type { LocalPoolOptions } from './pool.js';
import { checkOptions } from '../contract/option-check.js';
import { poolOptionsSchema } from './pool-schema.js';
import type { Launcher } from './launchers/launcher.js';
import { LocalLauncher } from './launchers/local.js';
import { SshLauncher } from './launchers/ssh/launcher.js';
import type { SshPoolOptions } from './launchers/ssh/options.js';
import { SlurmLauncher, resolveResources } from './launchers/slurm/launcher.js';
import { sbatchLines } from './launchers/slurm/script.js';
import { slurmGpus, slurmJobMemoryMb, slurmTimeMs } from './launchers/slurm/resources.js';
import type { SlurmPoolOptions } from './launchers/slurm/options.js';
import { checkRuntimeOption } from './runtime/index.js';

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
   * @default slurm: `resources.time`; others: no limit
   */
  walltime?: string | number | false;
  /**
   * An agent launched that has connected no lane this long after it started (`'90s'` or ms) is
   * stopped and counts as a failed launch. Counted from the launch; for SLURM from when its job is
   * seen RUNNING (within `pollSeconds`), since waiting in the queue is normal. `false`: no limit.
   * @default local and ssh: 60 s; slurm: no limit
   */
  connectTimeout?: string | number | false;
  /** Agents launched and not connected yet, at most (for SLURM: jobs queued and not running yet). @default 16; slurm: `max` */
  maxLaunching?: number;
  /** What a map's `requires.labels` can ask for, e.g. `['bigmem']`. */
  labels?: string[];
  /**
   * Cores one task slot gets; its tasks see OMP_NUM_THREADS and the like set to it.
   * @default local: the machine's cores over `max` × `slots`; slurm: `cpusPerTask / slots`; ssh: the host's cores over the agent's slots
   */
  cores?: number;
  /** Memory one task slot may use (MB), for routing. @default local: the machine's memory over `max` × `slots`; slurm: `mem / slots`; ssh: unknown */
  memoryMb?: number;
  /** GPUs one task slot gets, for routing. @default slurm: its `gres`/`gpus` over `slots`; others: 0 */
  gpus?: number;
}

/** Any pool's options; `launcher` says which kind. */
export type PoolOptions = LocalPoolOptions | SshPoolOptions | SlurmPoolOptions;

/** What one task slot of a pool gets; `undefined` where the pool cannot tell before it runs. */
export interface SlotOffer {
  cores: number | undefined;
  memoryMb: number | undefined;
  gpus: number;
}

/** What a Pool needs, whatever its launcher. */
export interface PoolPlan {
  options: PoolOptions;
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
const DEFAULT_MAX_LAUNCHING = 16;
const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;

function positive(what: string, v: unknown, integer = true): void {
  if (v !== undefined && !((integer ? Number.isInteger(v) : Number.isFinite(v)) && (v as number) > 0)) badInput(what, v, integer ? 'a positive integer' : 'a positive number');
}

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

function planPool(name: string, p: PoolOptions): PoolPlan {
  const at = (k: string) => `pools.${name}.${k}`;
  for (const k of ['slots', 'idleTimeoutMs', 'graceMs', 'max', 'maxTasks', 'maxLaunching', 'cores'] as const) positive(at(k), p[k]);
  positive(at('memoryMb'), p.memoryMb, false);
  if (p.min !== undefined && !(Number.isInteger(p.min) && p.min >= 0)) badInput(at('min'), p.min, 'an integer >= 0');
  if (p.gpus !== undefined && !(Number.isFinite(p.gpus) && p.gpus >= 0)) badInput(at('gpus'), p.gpus, 'a number >= 0');
  if (p.labels !== undefined && !(Array.isArray(p.labels) && p.labels.every((l) => typeof l === 'string' && l.length > 0))) badInput(at('labels'), p.labels, "a list of labels like ['gpu', 'bigmem']");
  const idleTimeoutMs = p.idleTimeout === undefined ? (p.idleTimeoutMs ?? DEFAULT_IDLE_MS) : durationMs(p.idleTimeout, at('idleTimeout'));
  const walltime = p.walltime === undefined || p.walltime === false ? undefined : durationMs(p.walltime, at('walltime'));
  const connectTimeoutMs = p.connectTimeout === undefined
    ? (p.launcher === 'slurm' ? undefined : DEFAULT_CONNECT_TIMEOUT_MS)
    : p.connectTimeout === false ? undefined : durationMs(p.connectTimeout, at('connectTimeout'));
  const common = {
    options: p,
    connectTimeoutMs,
    idleTimeoutMs,
    agentIdleTimeoutMs: p.idleTimeoutMs ?? Math.max(MIN_AGENT_IDLE_MS, 2 * idleTimeoutMs),
    graceMs: p.graceMs,
    maxTasks: p.maxTasks,
    labels: p.labels ?? [],
  };
  if (p.launcher === 'local') {
    const { min, max } = counts(at, p, p.agents, availableParallelism());
    const slots = p.slots ?? 1;
    const share = max * slots;
    const slot = { cores: p.cores ?? Math.max(1, Math.floor(availableParallelism() / share)), memoryMb: p.memoryMb ?? Math.floor(totalmem() / 2 ** 20 / share), gpus: p.gpus ?? 0 };
    return { ...common, min, max, agents: max, slots, slot, walltimeMs: walltime, maxLaunching: p.maxLaunching ?? DEFAULT_MAX_LAUNCHING };
  }
  if (p.launcher === 'ssh') {
    if (!Array.isArray(p.hosts) || p.hosts.length === 0 || !p.hosts.every((h) => typeof h === 'string' && h.length > 0)) {
      badInput(at('hosts'), p.hosts, "a non-empty list of hosts like ['ws1', 'alice@ws2:2222']");
    }
    positive(at('agentsPerHost'), p.agentsPerHost);
    if (p.tunnel !== undefined && !['auto', 'always', 'never'].includes(p.tunnel)) badInput(at('tunnel'), p.tunnel, "'auto', 'always' or 'never'");
    checkRuntimeOption(p.runtime, at('runtime'));
    const all = p.hosts.length * (p.agentsPerHost ?? 1);
    if (p.max !== undefined && p.max > all) badInput(at('max'), p.max, `at most hosts × agentsPerHost (${all})`);
    const max = p.max ?? all;
    const min = p.min ?? max;
    if (min > max) badInput(at('min'), min, `at most max (${max})`);
    const slot = { cores: p.cores, memoryMb: p.memoryMb, gpus: p.gpus ?? 0 };
    return { ...common, min, max, agents: max, slots: p.slots, slot, walltimeMs: walltime, maxLaunching: p.maxLaunching ?? DEFAULT_MAX_LAUNCHING };
  }
  if (p.launcher === 'slurm') {
    const resources = resolveResources(p);
    checkRuntimeOption(p.runtime, at('runtime'));
    sbatchLines(resources); // checks times and lines now, not at the first launch
    const { min, max } = counts(at, p, p.agents, 1);
    const slots = p.slots ?? resources.cpusPerTask ?? 1;
    const jobMb = slurmJobMemoryMb(resources);
    const slot = {
      cores: p.cores ?? Math.max(1, Math.floor((resources.cpusPerTask ?? 1) / slots)),
      memoryMb: p.memoryMb ?? (jobMb === undefined ? undefined : Math.floor(jobMb / slots)),
      gpus: p.gpus ?? slurmGpus(resources) / slots,
    };
    // The job's own time limit unless told otherwise: the agent leaves before SLURM ends it.
    const walltimeMs = p.walltime === false ? undefined : (walltime ?? (resources.time === undefined ? undefined : slurmTimeMs(resources.time)));
    return { ...common, min, max, agents: max, slots, slot, walltimeMs, maxLaunching: p.maxLaunching ?? max };
  }
  badInput(at('launcher'), (p as { launcher?: unknown }).launcher, "'local', 'ssh' or 'slurm'");
}

/** `agents` is a fixed count (min = max = agents); `max` alone scales from 0; neither: `all`, fixed. */
function counts(at: (k: string) => string, p: CommonPoolOptions, agents: number | undefined, all: number): { min: number; max: number } {
  positive(at('agents'), agents);
  if (agents !== undefined && (p.min !== undefined || p.max !== undefined)) {
    throw new FlotillaError('BAD_INPUT', `${at('agents')} is a fixed count (min = max = agents): give either agents or min/max, not both`);
  }
  if (agents !== undefined) return { min: agents, max: agents };
  const max = p.max ?? Math.max(p.min ?? 0, all);
  const min = p.min ?? (p.max === undefined ? max : 0);
  if (min > max) badInput(at('min'), min, `at most max (${max})`);
  return { min, max };
}

/** Milliseconds from `'5m'`, `'90s'`, `'1h'`, `'2d'`, `'250ms'` or a number of milliseconds. */
export function durationMs(v: string | number, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m || Number(m[1]) <= 0) badInput(what, v, "a duration like '5m', '90s', '1h' or a positive number of milliseconds");
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd']);
}

/** The launcher of a planned pool. */
export function createLauncher(
  name: string,
  plan: PoolPlan,
  ctx: { embedded: boolean; agentUrl: string; log(line: string): void; onAgentLog(agentId: string, line: string): void },
): Launcher {
  const o = plan.options;
  if (o.launcher === 'ssh') return new SshLauncher(o, ctx.agentUrl, ctx.log, ctx.onAgentLog);
  if (o.launcher === 'slurm') return new SlurmLauncher(name, o, ctx.agentUrl, ctx.log);
  return new LocalLauncher({ node: o.node, env: o.env, unref: ctx.embedded, onLog: ctx.onAgentLog });
}
