/**
 * Host key checking against known_hosts, as OpenSSH does it: plain and hashed (`|1|salt|hash`)
 * entries, `[host]:port` for non-standard ports, `@revoked` markers. An unknown key is refused
 * unless the user accepts new keys (then it is appended); a changed key is always refused.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FlotillaError } from '../../../contract/errors.js';

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64. */
export function sshFingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The name known_hosts uses for a host and port. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return globMatch(pattern, name);
}

/**
 * Wildcards as OpenSSH matches them: `*` any run, `?` any one character. Greedy with one
 * backtrack point (the last `*`), so time stays within pattern × name: a regular expression
 * built from a pattern like `*a*a*a...b` backtracks exponentially and would hang the controller.
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0, n = 0, star = -1, mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; known?: string[] };

/** Checks `key` (the raw blob ssh2 hands the verifier) for `name` in the given files. */
export function checkHostKey(files: string[], name: string, key: Buffer): HostKeyVerdict {
  const b64 = key.toString('base64');
  const others: string[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      let fields = line.split(/\s+/);
      let marker: string | undefined;
      if (fields[0]!.startsWith('@')) [marker, ...fields] = fields;
      const [hosts, , blob] = fields;
      if (!hosts || !blob) continue;
      const patterns = hosts.split(',');
      if (patterns.some((p) => p.startsWith('!') && matches(p.slice(1), name))) continue;
      if (!patterns.some((p) => !p.startsWith('!') && matches(p, name))) continue;
      if (marker === '@revoked') {
        if (blob === b64) return { ok: false, reason: 'revoked' };
        continue;
      }
      if (marker === '@cert-authority') continue;
      if (blob === b64) return { ok: true };
      others.push(sshFingerprint(Buffer.from(blob, 'base64')));
    }
  }
  return others.length > 0 ? { ok: false, reason: 'changed', known: others } : { ok: false, reason: 'unknown' };
}

/** Records a newly accepted key, as `StrictHostKeyChecking accept-new` does. */
export function addHostKey(file: string, name: string, keyType: string, key: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${name} ${keyType} ${key.toString('base64')}\n`, { mode: 0o600 });
}

/**
 * The key type named inside an SSH public key blob (its first string).
 * @throws FlotillaError BAD_INPUT for a blob too short to hold one (the server sent it).
 */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4 || key.readUInt32BE(0) > key.length - 4) throw new FlotillaError('BAD_INPUT', `host key blob of ${key.length} bytes does not start with a key type`);
  const n = key.readUInt32BE(0);
  return key.subarray(4, 4 + n).toString('latin1');
}
