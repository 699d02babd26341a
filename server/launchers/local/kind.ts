/** The `local` launcher kind: agents as child processes of the controller. */
import { availableParallelism, totalmem } from 'node:os';
import { defineLauncher } from '../kind.js';
import type { LauncherKind } from '../kind.js';
import type { LocalPoolOptions } from '../../pool.js';
import { counts, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_LAUNCHING } from '../plan-parts.js';
import { localPoolSchema } from './schema.js';
import { LocalLauncher } from './launcher.js';

export const localKind: LauncherKind<LocalPoolOptions> = defineLauncher<LocalPoolOptions>({
  launcher: 'local',
  schema: localPoolSchema,
  local: true,
  defaults: { connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS },
  plan({ options: p, at, walltimeMs }) {
    const { min, max } = counts(at, p, p.agents, availableParallelism());
    const slots = p.slots ?? 1;
    const share = max * slots;
    const slot = { cores: p.cores ?? Math.max(1, Math.floor(availableParallelism() / share)), memoryMb: p.memoryMb ?? Math.floor(totalmem() / 2 ** 20 / share), gpus: p.gpus ?? 0 };
    return { min, max, slots, slot, walltimeMs, maxLaunching: p.maxLaunching ?? DEFAULT_MAX_LAUNCHING };
  },
  create: (_pool, o, ctx) => new LocalLauncher({ node: o.node, env: o.env, unref: ctx.embedded, onLog: ctx.onAgentLog }),
});
