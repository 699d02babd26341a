/**
 * Ed25519 and X25519 through Node's OpenSSL binding. Identities are made by tweetnacl (see
 * identity.ts), but each connection's handshake math runs here: a fresh lane thread would
 * otherwise run tweetnacl's pure-JS code cold, measured at ~68 ms per handshake against ~4 ms.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** A signing key from tweetnacl's 64-byte secret key (seed, then public key). */
export function ed25519SigningKey(secretKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64(secretKey.subarray(0, 32)), x: b64(secretKey.subarray(32, 64)) }, format: 'jwk' });
}

/** A verifying key from a raw 32-byte Ed25519 public key. */
export function ed25519VerifyingKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(publicKey) }, format: 'jwk' });
}

export function ed25519Sign(data: Uint8Array, key: KeyObject): Buffer {
  return sign(null, data, key);
}

/** False for a bad signature or a malformed key, never throws. */
export function ed25519Verify(data: Uint8Array, sig: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sig.length === 64 && verify(null, data, ed25519VerifyingKey(publicKey), sig);
  } catch {
    return false;
  }
}

/** A one-time X25519 keypair: its raw public key and a function computing the shared secret. */
export function x25519Ephemeral(): { publicKey: Buffer; agree(peer: Uint8Array): Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    publicKey: raw,
    agree: (peer) => diffieHellman({ privateKey, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(peer) }, format: 'jwk' }) }),
  };
}
