/**
 * Pool options as users give them, checked once (naming the first bad one) and turned into a
 * launcher: child processes for `local`, hosts over SSH for `ssh`.
 */
import { availableParallelism } from 'node:os';
import { badInput } from '../agent/protocol/errors.js';
import type { LocalPoolOptions } from './pool.js';
import type { Launcher } from './launchers/launcher.js';
import { LocalLauncher } from './launchers/local.js';
import { SshLauncher } from './launchers/ssh/launcher.js';
import type { SshPoolOptions } from './launchers/ssh/options.js';
import { SlurmLauncher, resolveResources } from './launchers/slurm/launcher.js';
import { sbatchLines } from './launchers/slurm/script.js';
import type { SlurmPoolOptions } from './launchers/slurm/options.js';

/** Any pool's options; `launcher` says which kind. */
export type PoolOptions = LocalPoolOptions | SshPoolOptions | SlurmPoolOptions;

/** What a Pool needs, whatever its launcher. */
export interface PoolPlan {
  options: PoolOptions;
  /** Agents to keep. */
  agents: number;
  /** Slots per agent; undefined lets each agent use its cores. */
  slots: number | undefined;
  idleTimeoutMs: number | undefined;
  graceMs: number | undefined;
}

function positive(name: string, key: string, v: unknown): void {
  if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) badInput(`pools.${name}.${key}`, v, 'a positive integer');
}

/** Checks every pool's options before anything is started. */
export function planPools(pools: Record<string, PoolOptions> | undefined): Record<string, PoolPlan> {
  const out: Record<string, PoolPlan> = {};
  for (const [name, p] of Object.entries(pools ?? { local: { launcher: 'local' as const } })) {
    if (p === null || typeof p !== 'object') badInput(`pools.${name}`, p, "an object like { launcher: 'local' }");
    for (const k of ['slots', 'idleTimeoutMs', 'graceMs'] as const) positive(name, k, p[k]);
    const common = { options: p, slots: p.slots, idleTimeoutMs: p.idleTimeoutMs, graceMs: p.graceMs };
    if (p.launcher === 'local') {
      positive(name, 'agents', p.agents);
      out[name] = { ...common, agents: p.agents ?? availableParallelism(), slots: p.slots ?? 1 };
    } else if (p.launcher === 'ssh') {
      if (!Array.isArray(p.hosts) || p.hosts.length === 0 || !p.hosts.every((h) => typeof h === 'string' && h.length > 0)) {
        badInput(`pools.${name}.hosts`, p.hosts, "a non-empty list of hosts like ['ws1', 'alice@ws2:2222']");
      }
      positive(name, 'agentsPerHost', p.agentsPerHost);
      if (p.tunnel !== undefined && !['auto', 'always', 'never'].includes(p.tunnel)) badInput(`pools.${name}.tunnel`, p.tunnel, "'auto', 'always' or 'never'");
      out[name] = { ...common, agents: p.hosts.length * (p.agentsPerHost ?? 1) };
    } else if (p.launcher === 'slurm') {
      positive(name, 'agents', p.agents);
      positive(name, 'max', p.max);
      const resources = resolveResources(p);
      sbatchLines(resources); // checks times and lines now, not at the first launch
      const idleTimeoutMs = p.idleTimeoutMs ?? (p.idleTimeout === undefined ? undefined : durationMs(p.idleTimeout, `pools.${name}.idleTimeout`));
      out[name] = { ...common, idleTimeoutMs, agents: p.agents ?? p.max ?? 1, slots: p.slots ?? resources.cpusPerTask ?? 1 };
    } else {
      badInput(`pools.${name}.launcher`, (p as { launcher?: unknown }).launcher, "'local', 'ssh' or 'slurm'");
    }
  }
  return out;
}

/** Milliseconds from `'5m'`, `'90s'`, `'1h'`, `'250ms'` or a number of milliseconds. */
export function durationMs(v: string | number, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(v.trim()) : null;
  if (!m) badInput(what, v, "a duration like '5m', '90s', '1h' or a positive number of milliseconds");
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h']);
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
