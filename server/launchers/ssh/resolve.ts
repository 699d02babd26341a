/**
 * Where `ws1` or `alice@ws2:2222` really is: the user's ~/.ssh/config (Host aliases, HostName,
 * User, Port, IdentityFile, ProxyJump, UserKnownHostsFile, HostKeyAlias, ServerAliveInterval)
 * through the `ssh-config` parser, with what the spec itself says taking precedence, as ssh does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { FlotillaError } from '../../../contract/errors.js';

/** One host as the launcher will dial it. */
export interface ResolvedHost {
  /** The name the user wrote, for messages. */
  spec: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** Bastions to go through first, outermost first. */
  proxyJump: string[];
  knownHostsFiles: string[];
  /** The name to look up in known_hosts, when not the host itself. */
  hostKeyAlias: string | undefined;
  keepaliveMs: number;
}

const expand = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Splits `[user@]host[:port]`; bracketed IPv6 like `[::1]:2222` also works. */
export function parseHostSpec(spec: string): { user?: string; host: string; port?: number } {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d+))?$/.exec(spec);
  if (!m) throw new FlotillaError('BAD_INPUT', `host ${JSON.stringify(spec)} is not [user@]host[:port]`);
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && !(port > 0 && port < 65536)) throw new FlotillaError('BAD_INPUT', `host ${JSON.stringify(spec)} has a bad port`);
  return { user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

/** Reads an ssh_config once; a missing file is an empty config. */
export function loadSshConfig(path: string): SSHConfig {
  return existsSync(path) ? SSHConfig.parse(readFileSync(path, 'utf8')) : new SSHConfig();
}

/** Resolves one host spec against the config. */
export function resolveHost(spec: string, config: SSHConfig, defaults: { knownHosts?: string; user?: string } = {}): ResolvedHost {
  const { user, host, port } = parseHostSpec(spec);
  const c = config.compute(host) as Record<string, string | string[] | undefined>;
  const jump = first(c.ProxyJump);
  const portText = first(c.Port);
  const alive = Number(first(c.ServerAliveInterval) ?? 5);
  const configuredPort = portText === undefined ? undefined : Number(portText);
  if (port === undefined && configuredPort !== undefined && !(Number.isInteger(configuredPort) && configuredPort > 0 && configuredPort < 65536)) {
    throw new FlotillaError('BAD_INPUT', `ssh_config gives host ${JSON.stringify(spec)} Port ${JSON.stringify(portText)}, which is not a port number (1 to 65535)`);
  }
  const configuredKnownHosts = all(c.UserKnownHostsFile).flatMap((f) => f.split(/\s+/)).map(expand);
  return {
    spec,
    host: first(c.HostName)?.replace(/%h/g, host) ?? host,
    port: port ?? configuredPort ?? 22,
    user: user ?? first(c.User) ?? defaults.user ?? userInfo().username,
    identityFiles: all(c.IdentityFile).map(expand),
    proxyJump: jump && jump !== 'none' ? jump.split(',').map((s) => s.trim()) : [],
    knownHostsFiles: defaults.knownHosts ? [defaults.knownHosts] : configuredKnownHosts.length ? configuredKnownHosts : [join(homedir(), '.ssh', 'known_hosts')],
    hostKeyAlias: first(c.HostKeyAlias),
    keepaliveMs: (Number.isFinite(alive) && alive > 0 ? alive : 5) * 1000,
  };
}
