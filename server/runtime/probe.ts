/**
 * What a remote host offers an agent, asked once per connection in one command: its OS and
 * architecture, its C library (glibc and version, or musl), the Node it would run (after the
 * pool's `setup`), its home and cache folder, and the free space there. Everything flotilla
 * decides about the host's runtime is decided from this, before anything is uploaded.
 */
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../contract/errors.js';
import { run, shq } from '../launchers/ssh/remote.js';
import { REMOTE_RUNTIMES } from './upload.js';

/** A host as the probe saw it. */
export interface HostProbe {
  /** `uname -s`, e.g. `Linux`. */
  os: string;
  /** Node's name for the machine: `x64`, `arm64`, or `uname -m` as is when neither. */
  arch: string;
  /** The C library: glibc with its version, musl, or unknown (no ldd, no getconf). */
  libc: { kind: 'glibc'; version: string } | { kind: 'musl' } | { kind: 'unknown' };
  /** The Node the host would run (the pool's `node` after its `setup`), when there is one. */
  node: { path: string; version: string | undefined } | undefined;
  /** Exit code of the pool's `setup` when it failed, with what it wrote to stderr. */
  setupFailed: { code: number; stderr: string } | undefined;
  home: string;
  /** Free space in the cache folder (~/.cache/flotilla), in bytes; undefined when unknown. */
  freeBytes: number | undefined;
  /**
   * The sha256 of each runtime folder in the host's cache holding a `node` (whether whole is
   * checked when one is used); a runtime not among them is sent without asking first.
   */
  runtimes?: string[];
  /** The unpackers the host has (`zstd`, `gunzip`). */
  unpackers?: string[];
}

const ARCH: Record<string, string> = { x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64' };

/** The probe's shell text: POSIX, each answer a `fl_key=value` line (other output is ignored). */
export function probeScript(node: string, setup: string | undefined): string {
  return [
    `printf 'fl_os=%s\\nfl_arch=%s\\nfl_home=%s\\n' "$(uname -s)" "$(uname -m)" "$HOME"`,
    // musl's ldd says so on stderr; glibc answers getconf.
    `if ldd --version 2>&1 | grep -qi musl || ls /lib/ld-musl-* >/dev/null 2>&1; then echo fl_libc=musl; ` +
      `else printf 'fl_glibc=%s\\n' "$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"; fi`,
    `mkdir -p "$HOME/.cache/flotilla" 2>/dev/null && chmod 700 "$HOME/.cache/flotilla" 2>/dev/null`,
    `printf 'fl_free_kb=%s\\n' "$(df -Pk "$HOME/.cache/flotilla" 2>/dev/null | awk 'NR==2 {print $4}')"`,
    // Builtins only: a glob (unmatched, it stays a pattern, which the parser drops) and command -v.
    `printf 'fl_rt=%s\\n' "$HOME"/${REMOTE_RUNTIMES}/*/node`,
    `for u in zstd gunzip; do command -v $u >/dev/null 2>&1 && printf 'fl_unpack=%s\\n' $u; done`,
    // The setup runs in this shell, so what it puts on PATH (module load, conda) counts.
    ...(setup ? [`{ ${setup}\n} >/dev/null || echo "fl_setup_failed=$?"`] : []),
    `fl_n=$(command -v ${shq(node)} 2>/dev/null) && printf 'fl_node=%s\\nfl_node_version=%s\\n' "$fl_n" "$("$fl_n" -v 2>/dev/null)"`,
    'true',
  ].join('\n');
}

/** Parses the probe's output. */
export function parseProbe(stdout: string, stderr: string): HostProbe {
  const kv = new Map<string, string>();
  const runtimes: string[] = [];
  const unpackers: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^fl_(\w+)=(.*)$/.exec(line);
    if (!m) continue;
    const sha = m[1] === 'rt' && /\/([0-9a-f]{64})\/node$/.exec(m[2]!)?.[1];
    if (sha) runtimes.push(sha);
    else if (m[1] === 'unpack') unpackers.push(m[2]!.trim());
    else kv.set(m[1]!, m[2]!.trim());
  }
  const glibc = kv.get('glibc');
  const freeKb = Number(kv.get('free_kb'));
  const nodePath = kv.get('node');
  const version = kv.get('node_version');
  const setupCode = kv.get('setup_failed');
  return {
    os: kv.get('os') ?? 'unknown',
    arch: ARCH[kv.get('arch') ?? ''] ?? kv.get('arch') ?? 'unknown',
    libc: kv.get('libc') === 'musl' ? { kind: 'musl' } : glibc ? { kind: 'glibc', version: glibc } : { kind: 'unknown' },
    node: nodePath ? { path: nodePath, version: /^v\d+\.\d+\.\d+/.test(version ?? '') ? version : undefined } : undefined,
    setupFailed: setupCode === undefined ? undefined : { code: Number(setupCode), stderr: stderr.trim().slice(-500) },
    home: kv.get('home') ?? '',
    freeBytes: Number.isFinite(freeKb) && kv.get('free_kb') !== '' ? freeKb * 1024 : undefined,
    runtimes,
    unpackers,
  };
}

/** Probes a host over an open connection. */
export async function probeHost(client: SshClient, host: string, node: string, setup: string | undefined): Promise<HostProbe> {
  const r = await run(client, probeScript(node, setup), 30_000);
  const p = parseProbe(r.stdout, r.stderr);
  if (!p.home) throw new FlotillaError('LAUNCH_FAILED', `${host}: the host did not answer the probe (exit ${r.code}): ${r.stderr.trim().slice(-300) || 'no output'}. Its login shell must run POSIX shell commands`, { context: { host }, action: 'set-host-aside' });
  return p;
}

/** Glibc versions compared numerically: `2.28` < `2.36`. */
export function glibcAtLeast(have: string, need: string): boolean {
  const a = have.split('.').map(Number);
  const b = need.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}
