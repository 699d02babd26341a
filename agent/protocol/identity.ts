/**
 * Long-term identities: Ed25519 keypairs. The controller has one; every agent it launches gets
 * its own, handed over out of band (stdin or a 0600 file, never argv). They are made by
 * tweetnacl (generate-identity.ts), which agents never load: they only use a key they were given.
 */
import { createHash } from 'node:crypto';

/** An Ed25519 keypair. `secretKey` is tweetnacl's 64-byte form (seed + public key). */
export interface Identity {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Rebuilds an identity from its 64-byte secret key (tweetnacl's form: seed, then public key). */
export function identityFromSecret(secretKey: Uint8Array): Identity {
  if (secretKey.length !== 64) throw new Error(`an Ed25519 secret key has 64 bytes, got ${secretKey.length}`);
  return { publicKey: secretKey.slice(32), secretKey: secretKey.slice() };
}

/** Base64url text of a key, for files and stdin. */
export function keyToText(key: Uint8Array): string {
  return Buffer.from(key).toString('base64url');
}

/** Parses `keyToText` output, checking the length so a truncated key fails loudly. */
export function keyFromText(text: string, bytes: number, what: string): Uint8Array {
  const key = new Uint8Array(Buffer.from(text.trim(), 'base64url'));
  if (key.length !== bytes) throw new Error(`${what} must be ${bytes} bytes of base64url, got ${key.length}`);
  return key;
}

/** A short, printable fingerprint of a public key (SHA-256, base64, like OpenSSH shows). */
export function fingerprint(publicKey: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(publicKey).digest('base64').replace(/=+$/, '');
}

/**
 * What an agent needs to dial its controller, delivered as one line of JSON on stdin.
 * Contains the agent's secret key: never put it in argv or a world-readable file.
 */
export interface AgentCredentials {
  /** The id the controller issued with the key. */
  agentId: string;
  /** The agent's Ed25519 secret key (base64url). */
  secretKey: string;
  /** The controller's Ed25519 public key (base64url): the agent talks only to its holder. */
  controllerKey: string;
  /** ws:// URL of the controller's agent endpoint. */
  url: string;
  /** Task slots; default the agent's cores. */
  slots?: number;
  /**
   * Cores one task slot gets: the agent sets OMP_NUM_THREADS and its kind to it, so a task's
   * math libraries do not each start a thread per core. Default: the agent's cores over its slots.
   */
  cores?: number;
  /** Exit after this long without tasks (ms). */
  idleTimeoutMs?: number;
  /** Exit after the controller has been unreachable this long (ms). */
  graceMs?: number;
  /** Labels the agent reports, e.g. pool name. */
  pool?: string;
}
