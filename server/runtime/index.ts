/**
 * The Node an agent runs on a remote host, made ready once per connection: probe the host,
 * choose (its own Node, or one flotilla provides), and upload the provided one if the host
 * lacks it. SSH pools, the relay on a login node and SLURM batch scripts all start the agent
 * with the command this returns.
 */
import type { Client as SshClient } from 'ssh2';
import { shq } from '../launchers/ssh/remote.js';
import { probeHost } from './probe.js';
import type { HostProbe } from './probe.js';
import { chooseRuntime, MIN_NODE_MAJOR } from './choose.js';
import { FlotillaError } from '../../contract/errors.js';
import type { RuntimeOption } from './choose.js';
import { ensureRuntime } from './upload.js';
import type { AgentRuntime } from '../../contract/agent-types.js';

export type { AgentRuntime };

export type { RuntimeOption } from './choose.js';
export { checkRuntimeOption, MIN_NODE_MAJOR } from './choose.js';
export type { HostProbe } from './probe.js';

/** A host's runtime, ready: the shell word that runs node there, and what it is. */
export interface HostRuntime {
  /** The node command for a shell on the host, without the pool's setup (e.g. `"$HOME/.cache/…/node"`). */
  command: string;
  runtime: AgentRuntime;
  probe: HostProbe;
  /** Whether this call sent the runtime's bytes, and how many. */
  uploaded: boolean;
  sentBytes: number;
}

/** Probes the host, chooses its runtime and puts a provided one in place (once per host). */
export async function hostRuntime(client: SshClient, host: string, opts: { runtime?: RuntimeOption; node?: string; setup?: string }): Promise<HostRuntime> {
  const probe = await probeHost(client, host, opts.node ?? 'node', opts.setup);
  const choice = await chooseRuntime(probe, host, opts);
  if (choice.kind === 'host') {
    // The name as the user gave it, so `setup` (module load, conda) decides which one runs.
    const node = opts.node ?? 'node';
    return { command: node === 'node' ? 'node' : shq(node), runtime: { source: 'host', path: choice.path, version: choice.version }, probe, uploaded: false, sentBytes: 0 };
  }
  const rt = choice.runtime;
  // Not in the host's cache: the bytes go with the first command, without asking.
  const r = await ensureRuntime(client, host, rt, probe.runtimes?.includes(rt.sha256) ? {} : { missing: { unpackers: probe.unpackers ?? [] } });
  if (Number(/^v(\d+)/.exec(r.version)?.[1]) < MIN_NODE_MAJOR) {
    throw new FlotillaError('LAUNCH_FAILED', `${host}: the runtime ${rt.origin} is Node ${r.version}; flotilla agents need Node >= ${MIN_NODE_MAJOR}`, { context: { host }, action: 'set-host-aside' });
  }
  return {
    command: `"$HOME/${r.path}"`,
    runtime: { source: 'provided', path: `~/${r.path}`, version: r.version, origin: rt.origin, sha256: rt.sha256 },
    probe,
    uploaded: r.uploaded,
    sentBytes: r.sentBytes,
  };
}
