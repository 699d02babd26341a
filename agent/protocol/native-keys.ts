/**
 * Ed25519 and X25519 through Node's OpenSSL binding. Identities are made by tweetnacl (see
 * identity.ts), but each connection's handshake math runs here: a fresh lane thread would
 * otherwise run tweetnacl's pure-JS code cold, measured at ~68 ms per handshake against ~4 ms.
 *
 * Keys leave the binding as DER (a fixed ASN.1 prefix and the raw key), never as JWK: on Node 20
 * with OpenSSL 3.0, exporting JWK after many X25519 key generations deadlocks the thread on a
 * mutex (seen after 2,000 to 33,500 rounds), while DER export runs 100,000 rounds in seconds.
 * Keys come in as JWK (see rawPublicKey, ed25519SigningKey).
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

// The SubjectPublicKeyInfo header of a 32-byte X25519 key (RFC 8410): the key bytes follow.
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * A public key object from its raw 32 bytes. Imported as a JWK (OpenSSL builds it from the raw
 * bytes directly): decoding the same key from DER goes through OpenSSL 3's decoder lookup, ~17x
 * slower (390 against 23 µs here), which was a quarter of a controller's CPU per handshake. Only
 * JWK export is what stalls (see above); keys are never exported that way.
 */
function rawPublicKey(crv: 'Ed25519' | 'X25519', raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`a 25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** Signing keys by the secret key they were made from: one per identity, not one per handshake. */
const signingKeys = new WeakMap<Uint8Array, KeyObject>();

/**
 * A signing key from tweetnacl's 64-byte secret key (seed, then public key). Imported as a JWK,
 * like public keys: from PKCS#8 DER it took ~0.8 ms in a fresh thread against ~0.3 ms, on the
 * way of each lane's first handshake.
 */
export function ed25519SigningKey(secretKey: Uint8Array): KeyObject {
  let key = signingKeys.get(secretKey);
  if (!key) {
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64(secretKey.subarray(0, 32)), x: b64(secretKey.subarray(32, 64)) }, format: 'jwk' });
    signingKeys.set(secretKey, key);
  }
  return key;
}

/**
 * Verifying keys by the public key they were made from: the controller's registry hands out
 * the same array for an agent at every handshake, and making a key object costs more than the
 * verification itself.
 */
const verifyingKeys = new WeakMap<Uint8Array, KeyObject>();

/** A verifying key from a raw 32-byte Ed25519 public key. */
export function ed25519VerifyingKey(publicKey: Uint8Array): KeyObject {
  let key = verifyingKeys.get(publicKey);
  if (!key) {
    key = rawPublicKey('Ed25519', publicKey);
    verifyingKeys.set(publicKey, key);
  }
  return key;
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
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    publicKey: Buffer.from(der.subarray(X25519_SPKI.length)),
    agree: (peer) => diffieHellman({ privateKey, publicKey: rawPublicKey('X25519', peer) }),
  };
}
