/**
 * The controller hangs for good (once in ~1.2 M handshakes): on Node 20 with OpenSSL 3.0, a loop
 * of X25519 key generation and JWK export stalls on a mutex after some thousands of rounds. The
 * handshake's key functions must survive 100,000 rounds in one process. They run in a child so
 * that a stall fails this test (with the last count reached) instead of hanging the runner.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import nacl from 'tweetnacl';
import { ed25519Sign, ed25519SigningKey, ed25519Verify } from '../../agent/protocol/native-keys.js';

const FIXTURE = new URL('./fixtures/key-churn.ts', import.meta.url).pathname;
const ROUNDS = 100_000;

describe('handshake keys', () => {
  it("sign as tweetnacl does with the same identity (the signing key is imported from tweetnacl's secret key)", () => {
    for (let i = 0; i < 20; i++) {
      const id = nacl.sign.keyPair();
      const msg = nacl.randomBytes(1 + i * 13);
      const sig = ed25519Sign(msg, ed25519SigningKey(id.secretKey));
      expect(Buffer.from(sig).equals(Buffer.from(nacl.sign.detached(msg, id.secretKey)))).toBe(true);
      expect(ed25519Verify(msg, sig, id.publicKey)).toBe(true);
    }
  });

  it('the controller hangs for good (once in ~1.2 M handshakes): 100,000 key generations and exports in one process finish', async () => {
    // Generous: the loop takes seconds; a stall never ends, and the timeout turns it into a failure.
    const r = await execa(process.execPath, ['--import', 'tsx', FIXTURE, String(ROUNDS)], { reject: false, timeout: 150_000, killSignal: 'SIGKILL' });
    const counts = r.stdout.split('\n').filter(Boolean);
    expect(r.timedOut, `stalled after ${counts.at(-1) ?? 0} rounds`).toBe(false);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(counts.at(-1)).toBe('done');
  }, 180_000);
});
