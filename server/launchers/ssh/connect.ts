/**
 * Opening an SSH connection with ssh2 the way OpenSSH would: ssh-agent (SSH_AUTH_SOCK) then the
 * identity files, host keys checked against known_hosts, keepalives on, bastions via ProxyJump.
 * Every failure says which host, which user, which key or fingerprint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AnyAuthMethod, Client as SshClient } from 'ssh2';
import type { Duplex } from 'node:stream';
import { FlotillaError } from '../../../contract/errors.js';
import { addHostKey, checkHostKey, keyTypeOf, knownHostsName, sshFingerprint } from './known-hosts.js';
import type { ResolvedHost } from './resolve.js';
import { ssh2 } from '../../lazy.js';

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(homedir(), '.ssh', k));

export interface SshAuthOptions {
  /** Passphrase for encrypted identity files. @default FLOTILLA_SSH_PASSPHRASE */
  passphrase?: string;
  /** Accept and record a host key not yet in known_hosts (OpenSSH's accept-new). @default false */
  acceptNewHostKeys?: boolean;
  /** How long to wait for the connection and authentication. @default 15000 */
  readyTimeoutMs?: number;
}

function authMethods(h: ResolvedHost, passphrase: string | undefined): { methods: AnyAuthMethod[]; tried: string[]; problems: string[] } {
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  const problems: string[] = [];
  if (process.env.SSH_AUTH_SOCK) {
    methods.push({ type: 'agent', username: h.user, agent: process.env.SSH_AUTH_SOCK });
    tried.push('ssh-agent');
  }
  const files = h.identityFiles.length > 0 ? h.identityFiles : DEFAULT_KEYS.filter((f) => existsSync(f));
  for (const file of files) {
    if (!existsSync(file)) {
      problems.push(`identity file ${file} does not exist`);
      continue;
    }
    const parsed = ssh2().utils.parseKey(readFileSync(file), passphrase);
    if (parsed instanceof Error) {
      problems.push(
        /encrypt|passphrase/i.test(parsed.message)
          ? `identity file ${file} is encrypted: give its passphrase as the pool's \`passphrase\` option or FLOTILLA_SSH_PASSPHRASE, or load it into ssh-agent`
          : `identity file ${file} cannot be read: ${parsed.message}`,
      );
      continue;
    }
    methods.push({ type: 'publickey', username: h.user, key: Array.isArray(parsed) ? parsed[0]! : parsed });
    tried.push(file);
  }
  return { methods, tried, problems };
}

/** Opens a connection to `h`, through `sock` when a bastion provides one. */
export function openConnection(h: ResolvedHost, opts: SshAuthOptions, sock?: Duplex): Promise<SshClient> {
  const { methods, tried, problems } = authMethods(h, opts.passphrase ?? process.env.FLOTILLA_SSH_PASSPHRASE);
  const who = `${h.user}@${h.spec}`;
  if (methods.length === 0) {
    return Promise.reject(new FlotillaError('UNAUTHORIZED', `no way to log in to ${who}: no ssh-agent (SSH_AUTH_SOCK) and no usable identity file${problems.length ? `; ${problems.join('; ')}` : ''}`));
  }
  const name = knownHostsName(h.hostKeyAlias ?? h.host, h.port);
  let hostKeyError: FlotillaError | undefined;
  const client = new (ssh2().Client)();
  // Errors after the first (which rejects below) must never go unhandled: the owner of the
  // connection adds its own listener once set up, and acts on 'close'.
  client.on('error', () => {});
  return new Promise<SshClient>((resolve, reject) => {
    client.once('ready', () => resolve(client));
    client.once('error', (err: Error & { level?: string }) => {
      client.end();
      if (hostKeyError) return reject(hostKeyError);
      if (err.level === 'client-authentication') {
        return reject(new FlotillaError('UNAUTHORIZED', `${h.spec} refused user ${h.user} (tried ${tried.join(', ')})${problems.length ? `; ${problems.join('; ')}` : ''}`, { cause: err, context: { host: h.spec } }));
      }
      reject(new FlotillaError('LAUNCH_FAILED', `cannot connect to ${h.spec} (${h.host}:${h.port}): ${err.message}`, { cause: err, context: { host: h.spec } }));
    });
    client.connect({
      host: h.host,
      port: h.port,
      username: h.user,
      sock,
      authHandler: methods,
      readyTimeout: opts.readyTimeoutMs ?? 15_000,
      keepaliveInterval: h.keepaliveMs,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        const fp = sshFingerprint(key);
        const verdict = checkHostKey(h.knownHostsFiles, name, key);
        if (verdict.ok) return true;
        if (verdict.reason === 'unknown' && opts.acceptNewHostKeys) {
          try {
            addHostKey(h.knownHostsFiles[0]!, name, keyTypeOf(key), key);
            return true;
          } catch (err) {
            // A malformed key blob, or a known_hosts file we cannot write: refuse, saying why.
            hostKeyError = FlotillaError.from(err, 'UNAUTHORIZED');
            return false;
          }
        }
        const where = h.knownHostsFiles.join(', ');
        hostKeyError = new FlotillaError(
          'UNAUTHORIZED',
          verdict.reason === 'unknown'
            ? `unknown host key for ${name} (${fp}): not in ${where}. Check the fingerprint, then add it (ssh-keyscan -p ${h.port} ${h.host} >> ${h.knownHostsFiles[0]}) or set acceptNewHostKeys: true`
            : verdict.reason === 'revoked'
              ? `host key ${fp} of ${name} is marked @revoked in ${where}`
              : `HOST KEY CHANGED for ${name}: it offered ${fp}, but ${where} has ${verdict.known!.join(', ')}. Someone may be intercepting the connection; if the host was reinstalled, remove the old key (ssh-keygen -R '${name}')`,
          { context: { host: h.spec } },
        );
        return false;
      },
    });
    // ssh2 leaves Nagle on: each small exchange of the set-up (auth, exec, SFTP, forwardIn) could
    // wait ~40 ms for the server's delayed ACK. Measured: a warm host's set-up 135 -> 54 ms.
    client.setNoDelay(true);
  });
}

/** Opens a stream from `via` to `h`, for connecting through a bastion. */
export function forwardThrough(via: SshClient, h: ResolvedHost): Promise<Duplex> {
  return new Promise((resolve, reject) =>
    via.forwardOut('127.0.0.1', 0, h.host, h.port, (err, stream) =>
      err ? reject(new FlotillaError('LAUNCH_FAILED', `the bastion could not reach ${h.spec} (${h.host}:${h.port}): ${err.message}`, { cause: err })) : resolve(stream),
    ),
  );
}
