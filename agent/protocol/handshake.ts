/**
 * The handshake of the trust model, as pure functions over byte messages (no sockets here).
 *
 *   controller -> agent  HELLO   [1][version][challenge 32][ephemeral X25519 pub 32]
 *   agent -> controller  AUTH    [2][ephemeral pub 32][agent nonce 32][Ed25519 sig 64][agent id utf8]
 *   controller -> agent  WELCOME [3][Ed25519 sig 64]
 *
 * Both signatures cover the hash of the whole transcript, which includes the controller's fresh
 * challenge and both ephemeral keys: a recorded AUTH or WELCOME is useless on another connection,
 * and the session keys (HKDF over the X25519 secret) are forward secret.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { ed25519Sign, ed25519SigningKey, ed25519Verify, x25519Ephemeral } from './native-keys.js';
import { FlotillaError } from './errors.js';
import type { Identity } from './identity.js';

export const PROTOCOL_VERSION = 1;
const LABEL_AGENT = Buffer.from('flotilla/1 agent auth');
const LABEL_CONTROLLER = Buffer.from('flotilla/1 controller auth');
const LABEL_KEYS = Buffer.from('flotilla/1 session keys');

/** Per-direction AEAD keys of one connection. */
export interface SessionKeys {
  /** Key for frames from controller to agent. */
  toAgent: Buffer;
  /** Key for frames from agent to controller. */
  toController: Buffer;
}

const HELLO = 1, AUTH = 2, WELCOME = 3;
const MAX_AGENT_ID = 128;

function fail(reason: string): never {
  throw new FlotillaError('CHANNEL', reason);
}

function deriveKeys(secret: Uint8Array, transcriptHash: Buffer): SessionKeys {
  if (secret.every((b) => b === 0)) fail('degenerate ephemeral key');
  const okm = Buffer.from(hkdfSync('sha256', secret, transcriptHash, LABEL_KEYS, 64));
  return { toAgent: okm.subarray(0, 32), toController: okm.subarray(32, 64) };
}

/** The X25519 secret; a malformed peer key is a handshake failure, not a crash. */
function agree(eph: ReturnType<typeof x25519Ephemeral>, peer: Uint8Array): Uint8Array {
  try {
    return eph.agree(peer);
  } catch {
    fail('invalid ephemeral key');
  }
}

function hashTranscript(hello: Uint8Array, authBody: Uint8Array): Buffer {
  return createHash('sha256').update(hello).update(authBody).digest();
}

/** The controller's side of one handshake. */
export class ControllerHandshake {
  private readonly eph = x25519Ephemeral();
  readonly hello: Buffer;

  constructor(private readonly identity: Identity) {
    this.hello = Buffer.concat([Buffer.from([HELLO, PROTOCOL_VERSION]), randomBytes(32), this.eph.publicKey]);
  }

  /**
   * Checks an AUTH message. `lookup` returns the public key issued to that agent id, or
   * undefined when the id is unknown or revoked. Throws CHANNEL/UNAUTHORIZED with the reason.
   */
  onAuth(msg: Uint8Array, lookup: (agentId: string) => Uint8Array | undefined): { agentId: string; keys: SessionKeys; welcome: Buffer } {
    if (msg.length < 1 + 32 + 32 + 64 + 1 || msg[0] !== AUTH) fail('malformed AUTH message');
    if (msg.length > 1 + 32 + 32 + 64 + MAX_AGENT_ID) fail('AUTH message too long');
    const ephA = msg.subarray(1, 33);
    const sig = msg.subarray(65, 129);
    const agentId = Buffer.from(msg.subarray(129)).toString('utf8');
    const pub = lookup(agentId);
    if (!pub) throw new FlotillaError('UNAUTHORIZED', `agent ${JSON.stringify(agentId)} holds no key issued by this controller`);
    const authBody = Buffer.concat([msg.subarray(1, 65), msg.subarray(129)]);
    const th = hashTranscript(this.hello, authBody);
    if (!ed25519Verify(Buffer.concat([LABEL_AGENT, th]), sig, pub)) {
      throw new FlotillaError('UNAUTHORIZED', `agent ${JSON.stringify(agentId)} failed the challenge (bad signature or replayed handshake)`);
    }
    const keys = deriveKeys(agree(this.eph, ephA), th);
    const welcome = Buffer.concat([Buffer.from([WELCOME]), ed25519Sign(Buffer.concat([LABEL_CONTROLLER, th]), ed25519SigningKey(this.identity.secretKey))]);
    return { agentId, keys, welcome };
  }
}

/** The agent's side of one handshake. */
export class AgentHandshake {
  private readonly eph = x25519Ephemeral();
  private transcript: Buffer | undefined;
  private ephC: Uint8Array | undefined;

  constructor(private readonly agentId: string, private readonly identity: Identity, private readonly controllerKey: Uint8Array) {
    if (Buffer.byteLength(agentId) > MAX_AGENT_ID || agentId.length === 0) fail('agent id must be 1..128 bytes');
  }

  /** Answers the controller's HELLO with AUTH. */
  onHello(hello: Uint8Array): Buffer {
    if (hello.length !== 2 + 32 + 32 || hello[0] !== HELLO) fail('malformed HELLO message');
    if (hello[1] !== PROTOCOL_VERSION) fail(`controller speaks protocol ${hello[1]}, this agent speaks ${PROTOCOL_VERSION}`);
    this.ephC = hello.subarray(34, 66);
    const authBody = Buffer.concat([this.eph.publicKey, randomBytes(32), Buffer.from(this.agentId, 'utf8')]);
    this.transcript = hashTranscript(hello, authBody);
    const sig = ed25519Sign(Buffer.concat([LABEL_AGENT, this.transcript]), ed25519SigningKey(this.identity.secretKey));
    return Buffer.concat([Buffer.from([AUTH]), authBody.subarray(0, 64), Buffer.from(sig), authBody.subarray(64)]);
  }

  /** Checks the controller's WELCOME: only the holder of the controller key can sign it. */
  onWelcome(msg: Uint8Array): SessionKeys {
    if (!this.transcript || !this.ephC) fail('WELCOME before HELLO');
    if (msg.length !== 1 + 64 || msg[0] !== WELCOME) fail('malformed WELCOME message');
    if (!ed25519Verify(Buffer.concat([LABEL_CONTROLLER, this.transcript]), msg.subarray(1), this.controllerKey)) {
      throw new FlotillaError('UNAUTHORIZED', 'the controller failed to prove its identity (wrong controller key or tampered handshake)');
    }
    return deriveKeys(agree(this.eph, this.ephC), this.transcript);
  }
}
