import nacl from 'tweetnacl';
import type { Identity } from './identity.js';

/** A fresh Ed25519 identity from tweetnacl (64-byte secret key: seed, then public key). */
export function generateIdentity(): Identity {
  const kp = nacl.sign.keyPair();
  return { publicKey: kp.publicKey, secretKey: kp.secretKey };
}
