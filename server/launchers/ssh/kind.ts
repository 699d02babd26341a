/** The `ssh` launcher kind: agents on hosts reached over SSH. */
import { badInput } from '../../../contract/errors.js';
import { defineLauncher } from '../kind.js';
import type { LauncherKind } from '../kind.js';
import { checkRuntimeOption } from '../../runtime/index.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_LAUNCHING, positive } from '../plan-parts.js';
import { sshPoolSchema } from './schema.js';
import { SshLauncher } from './launcher.js';
import type { SshPoolOptions } from './options.js';

export const sshKind: LauncherKind<SshPoolOptions> = defineLauncher<SshPoolOptions>({
  launcher: 'ssh',
  schema: sshPoolSchema,
  local: false,
  defaults: { connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS },
  plan({ options: p, at, walltimeMs }) {
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
    return { min, max, slots: p.slots, slot, walltimeMs, maxLaunching: p.maxLaunching ?? DEFAULT_MAX_LAUNCHING };
  },
  create: (_pool, o, ctx) => new SshLauncher(o, ctx.agentUrl, ctx.log, ctx.onAgentLog),
});
