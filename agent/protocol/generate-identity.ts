import { generateKeyPairSync } from 'node:crypto';
import type { Identity } from './identity.js';

/**
 * A fresh Ed25519 identity (64-byte secret key: seed, then public key, as tweetnacl lays it out).
 * Made by Node's OpenSSL binding, exported as DER (see native-keys.ts): tweetnacl's pure-JS
 * key generation took 30–100 ms of the controller's CPU per launched agent while it ran cold.
 */
export function generateIdentity(): Identity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The raw 32-byte keys end their SPKI and PKCS#8 DER encodings.
  const pub = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }).subarray(-32));
  const seed = privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(-32);
  const secretKey = new Uint8Array(64);
  secretKey.set(seed, 0);
  secretKey.set(pub, 32);
  return { publicKey: pub, secretKey };
}
