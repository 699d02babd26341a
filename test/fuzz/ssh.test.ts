/**
 * Fuzz: the SSH readers (server/launchers/ssh/): known_hosts lines and host key blobs (the key
 * comes from the server), host specs and ssh_config text. Any input gives a verdict or a named
 * BAD_INPUT error, in time linear in its size; nothing else is thrown.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import SSHConfig from 'ssh-config';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHostKey, keyTypeOf, knownHostsName } from '../../server/launchers/ssh/known-hosts.js';
import { parseHostSpec, resolveHost } from '../../server/launchers/ssh/resolve.js';
import { budget, mutated, params, refusedOrOk } from './fuzz.js';

const dir = mkdtempSync(join(tmpdir(), 'flotilla-fuzz-ssh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An ed25519 key blob as ssh2 hands it to the verifier: string "ssh-ed25519", string key. */
function ed25519Blob(key: Uint8Array): Buffer {
  const str = (x: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(x.length, 0);
    return Buffer.concat([len, x]);
  };
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(Buffer.from(key))]);
}
const blob = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(ed25519Blob);

const patternChar = fc.constantFrom('a', 'b', '*', '?', '.', '[', ']', '!', '|', ',', ':', '1', '\\', '(', '+');
const hostPattern = fc.oneof(fc.string({ maxLength: 30 }), fc.array(patternChar, { maxLength: 40 }).map((c) => c.join('')));
const knownHostsLine = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.option(fc.constantFrom('@revoked', '@cert-authority', '@bogus')), fc.array(hostPattern, { minLength: 1, maxLength: 4 }), fc.constantFrom('ssh-ed25519', 'ssh-rsa', ''), fc.oneof(blob.map((b) => b.toString('base64')), fc.base64String({ maxLength: 80 }), fc.string({ maxLength: 40 })))
    .map(([m, hosts, type, key]) => `${m ? m + ' ' : ''}${hosts.join(',')} ${type} ${key}`),
);

describe('fuzz: known_hosts', () => {
  it('any known_hosts file gives a verdict, never an exception', () => {
    const file = join(dir, 'known_hosts');
    fc.assert(
      fc.property(fc.array(knownHostsLine, { maxLength: 8 }), fc.string({ maxLength: 60 }), fc.integer({ min: 1, max: 65535 }), blob, (lines, host, port, key) => {
        writeFileSync(file, lines.join('\n'));
        const v = checkHostKey([file], knownHostsName(host, port), key);
        expect(['boolean']).toContain(typeof v.ok);
      }),
      params(),
    );
  }, budget());

  it('a wildcard pattern is matched in linear time, not by backtracking', () => {
    const file = join(dir, 'known_hosts-glob');
    // 40 stars against 4,000 characters: exponential for a backtracking matcher.
    writeFileSync(file, `${'*a'.repeat(40)}b ssh-ed25519 AAAA\n`);
    const v = checkHostKey([file], 'a'.repeat(4_000), ed25519Blob(new Uint8Array(32)));
    expect(v).toEqual({ ok: false, reason: 'unknown' });
  });

  it('still matches what OpenSSH matches', () => {
    const file = join(dir, 'known_hosts-match');
    const key = ed25519Blob(new Uint8Array(32).fill(7));
    writeFileSync(file, `*.example.org,!bad.example.org ssh-ed25519 ${key.toString('base64')}\n[10.0.0.?]:2222 ssh-ed25519 ${key.toString('base64')}\n`);
    expect(checkHostKey([file], 'ws1.example.org', key)).toEqual({ ok: true });
    expect(checkHostKey([file], 'bad.example.org', key)).toEqual({ ok: false, reason: 'unknown' });
    expect(checkHostKey([file], '[10.0.0.7]:2222', key)).toEqual({ ok: true });
    expect(checkHostKey([file], '[10.0.0.17]:2222', key)).toEqual({ ok: false, reason: 'unknown' });
  });

  it("the server's key blob, whatever its bytes, has a type or is refused with BAD_INPUT", () => {
    fc.assert(
      fc.property(mutated(blob), (bytes) => {
        const type = refusedOrOk(() => keyTypeOf(bytes), ['BAD_INPUT'], /^host key blob/);
        if (type !== undefined) expect(typeof type).toBe('string');
      }),
      params(),
    );
  }, budget());
});

describe('fuzz: host specs and ssh_config', () => {
  it('a host spec is parsed or refused with BAD_INPUT, in linear time', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.array(fc.constantFrom('a', '@', ':', '[', ']', '1', ' '), { maxLength: 5_000 }).map((c) => c.join(''))), (spec) => {
        const r = refusedOrOk(() => parseHostSpec(spec), ['BAD_INPUT'], /^host /);
        if (r) expect(r.port === undefined || (Number.isInteger(r.port) && r.port > 0 && r.port < 65536)).toBe(true);
      }),
      params(),
    );
  }, budget());

  it('any ssh_config text resolves a host or is refused with a named error', () => {
    const directive = fc.tuple(fc.constantFrom('Host', 'HostName', 'Port', 'User', 'IdentityFile', 'ProxyJump', 'ServerAliveInterval', 'UserKnownHostsFile', 'HostKeyAlias', 'Match', 'Include', 'Bogus'), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('*', 'lab', '"unclosed', '%h.example.org', '-1', '99999', 'none', 'a,b,c')));
    fc.assert(
      fc.property(fc.array(directive, { maxLength: 10 }), (lines) => {
        const text = lines.map(([k, v]) => `${k} ${v}`).join('\n');
        let config: ReturnType<typeof SSHConfig.parse>;
        try {
          config = SSHConfig.parse(text);
        } catch (err) {
          expect(err).toBeInstanceOf(Error); // the library's own parse error: loadSshConfig names the file
          return;
        }
        const r = refusedOrOk(() => resolveHost('lab', config), ['BAD_INPUT'], /ssh_config|host /);
        if (r) {
          expect(Number.isInteger(r.port) && r.port > 0 && r.port < 65536).toBe(true);
          expect(r.keepaliveMs).toBeGreaterThan(0);
        }
      }),
      params(),
    );
  }, budget());
});
