/**
 * Which Node an agent runs on a host, from the probe and the pool's `runtime` option:
 * - `'host'`: the host's own, which must be >= 20 (as before this option existed);
 * - `'auto'`: the host's own when it is >= 20, else one flotilla provides;
 * - a path: that file (a node binary or an official tarball), provided whatever the host has.
 * A runtime is provided only where it can run (Linux, x64 or arm64, glibc new enough, room in
 * the cache folder); anything else is refused here, naming the host and what to do.
 */
import { FlotillaError } from '../../contract/errors.js';
import type { HostProbe } from './probe.js';
import { glibcAtLeast } from './probe.js';
import { fileRuntime, npmRuntime, OFFICIAL_MIN_GLIBC, selfRuntime, selfUnfit } from './obtain.js';
import type { LocalRuntime } from './obtain.js';
import type { RuntimeOption } from '../../contract/agent-types.js';

export type { RuntimeOption };

/** The oldest Node the agent bundle runs on. */
export const MIN_NODE_MAJOR = 20;

/** What an agent runs: the host's node, or a runtime flotilla put there. */
export type RuntimeChoice = { kind: 'host'; path: string; version: string } | { kind: 'provide'; runtime: LocalRuntime };

const major = (v: string | undefined) => Number(/^v(\d+)/.exec(v ?? '')?.[1] ?? 0);

/** Checks the option's shape when the pool is planned. */
export function checkRuntimeOption(v: unknown, what: string): void {
  if (v === undefined || v === 'auto' || v === 'host') return;
  if (typeof v !== 'string' || v.length === 0) {
    throw new FlotillaError('BAD_INPUT', `${what} must be 'auto', 'host', or the path of a Node binary or an official node-v22.x-linux-x64.tar.xz, got ${JSON.stringify(v)}`);
  }
}

/** Decides the runtime of a probed host; obtains the local copy when one is to be provided. */
export async function chooseRuntime(p: HostProbe, host: string, opts: { runtime?: RuntimeOption; node?: string; setup?: string }): Promise<RuntimeChoice> {
  const option = opts.runtime ?? 'auto';
  const refuse = (why: string) => {
    throw new FlotillaError('LAUNCH_FAILED', `${host}: ${why}`, { context: { host }, action: 'set-host-aside' });
  };
  if (p.setupFailed) refuse(`the pool's setup \`${opts.setup}\` failed there (exit ${p.setupFailed.code})${p.setupFailed.stderr ? `: ${p.setupFailed.stderr}` : ''}`);
  const found = p.node?.version;
  if (option === 'host' || (option === 'auto' && major(found) >= MIN_NODE_MAJOR)) {
    const ran = `\`${opts.node ?? 'node'}\`${opts.setup ? ` after \`${opts.setup}\`` : ''}`;
    if (!p.node) refuse(`node not found (looked for ${ran}). Install Node >= ${MIN_NODE_MAJOR} there, set the pool's \`node\` (and \`setup\`), or use runtime: 'auto' to have flotilla provide one`);
    if (!found) refuse(`${p.node!.path} -v did not print a version. Use runtime: 'auto' to have flotilla provide Node`);
    if (major(found) < MIN_NODE_MAJOR) {
      refuse(`node ${found} (${p.node!.path}) is too old: flotilla agents need Node >= ${MIN_NODE_MAJOR} (this controller runs ${process.version}). Use runtime: 'auto' to have flotilla provide one, or point \`node\`/\`setup\` at a newer one`);
    }
    return { kind: 'host', path: p.node!.path, version: found! };
  }
  const why = option === 'auto' ? (p.node ? `its node ${found ?? '(no version)'} is older than ${MIN_NODE_MAJOR}` : 'it has no node') : `runtime is ${option}`;
  if (p.os !== 'Linux') refuse(`${why}, and flotilla can provide Node only on Linux (the host runs ${p.os}). Install Node >= ${MIN_NODE_MAJOR} there`);
  if (p.arch !== 'x64' && p.arch !== 'arm64') refuse(`${why}, and flotilla can provide Node only for x64 and arm64 (the host is ${p.arch}). Install Node >= ${MIN_NODE_MAJOR} there`);
  if (p.libc.kind === 'musl') refuse(`${why}, and official Node binaries need glibc but the host uses musl (Alpine?). Install Node >= ${MIN_NODE_MAJOR} there (e.g. apk add nodejs)`);
  let runtime: LocalRuntime;
  if (option !== 'auto') {
    runtime = await fileRuntime(option);
    if (runtime.arch !== p.arch) refuse(`runtime ${option} is for ${runtime.arch}, but the host is ${p.arch}`);
  } else {
    const glibc = p.libc.kind === 'glibc' ? p.libc.version : undefined;
    if (selfUnfit(p.arch, glibc) === undefined && major(process.version) >= MIN_NODE_MAJOR) runtime = await selfRuntime();
    else {
      // Known before downloading anything: official builds need this glibc.
      if (glibc && !glibcAtLeast(glibc, OFFICIAL_MIN_GLIBC)) refuse(`${why}, but its glibc ${glibc} is older than ${OFFICIAL_MIN_GLIBC}, the oldest official Node builds run on. Install Node >= ${MIN_NODE_MAJOR} built for that system there (and set \`node\`/\`setup\`), or give runtime: the path of a Node build for glibc ${glibc}`);
      runtime = await npmRuntime(p.arch);
    }
  }
  if (p.libc.kind === 'glibc' && !glibcAtLeast(p.libc.version, runtime.minGlibc)) {
    refuse(`${why}, but its glibc ${p.libc.version} is older than ${runtime.minGlibc}, the oldest the runtime (${runtime.origin}) runs on. Install Node >= ${MIN_NODE_MAJOR} built for that system there (and set \`node\`/\`setup\`), or give runtime: the path of a Node build for glibc ${p.libc.version}`);
  }
  if (p.freeBytes !== undefined && p.freeBytes < runtime.size * 1.1) {
    refuse(`${why}, and ~/.cache/flotilla has ${Math.floor(p.freeBytes / 2 ** 20)} MB free, less than the runtime's ${Math.ceil(runtime.size / 2 ** 20)} MB. Free some space in the home folder there`);
  }
  return { kind: 'provide', runtime };
}
