import { describe, expect, it } from 'vitest';
import nacl from 'tweetnacl';
import { generateIdentity } from '../../agent/protocol/generate-identity.js';

describe('generateIdentity', () => {
  it('makes Ed25519 keypairs laid out as tweetnacl does (seed, then public key), each one new', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const id = generateIdentity();
      expect(id.secretKey).toHaveLength(64);
      expect(id.publicKey).toHaveLength(32);
      const kp = nacl.sign.keyPair.fromSeed(id.secretKey.subarray(0, 32));
      expect(Buffer.from(kp.publicKey).equals(Buffer.from(id.publicKey))).toBe(true);
      expect(Buffer.from(kp.secretKey).equals(Buffer.from(id.secretKey))).toBe(true);
      const msg = Buffer.from(`message ${i}`);
      expect(nacl.sign.detached.verify(msg, nacl.sign.detached(msg, id.secretKey), id.publicKey)).toBe(true);
      seen.add(Buffer.from(id.publicKey).toString('hex'));
    }
    expect(seen.size).toBe(100);
  });
});
