/**
 * The handshake of the trust model, as pure functions over byte messages (no sockets here).
 *
 *   controller -> agent  HELLO   [1][version][challenge 32][ephemeral X25519 pub 32]
 *   agent -> controller  AUTH    [2][ephemeral pub 32][agent nonce 32][Ed25519 sig 64][agent id utf8]
 *   controller -> agent  WELCOME [3][Ed25519 sig 64]
 *                     or REFUSE  [4][Ed25519 sig 64]
 *
 * Both signatures cover the hash of the whole transcript, which includes the controller's fresh
 * challenge and both ephemeral keys: a recorded AUTH or WELCOME is useless on another connection,
 * and the session keys (HKDF over the X25519 secret) are forward secret.
 *
 * A refusal is signed too, over the HELLO and the AUTH as the controller saw them: only a refusal
 * that verifies against the agent's own transcript is final for the agent. Anything else (a bare
 * 4401 close, a HELLO, AUTH or WELCOME altered by a relay on the way) may be tampering, and the
 * agent dials again. Whatever was wrong with the AUTH, the refusal says the same thing, so an
 * outsider learns nothing about which agent ids exist.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { ed25519Sign, ed25519SigningKey, ed25519Verify, x25519Ephemeral } from './native-keys.js';
import { FlotillaError } from '../../contract/errors.js';
import type { Identity } from './identity.js';

export const PROTOCOL_VERSION = 1;
const LABEL_AGENT = Buffer.from('flotilla/1 agent auth');
const LABEL_CONTROLLER = Buffer.from('flotilla/1 controller auth');
const LABEL_KEYS = Buffer.from('flotilla/1 session keys');
const LABEL_REFUSE = Buffer.from('flotilla/1 controller refusal');

/** The one reason a controller gives for refusing an AUTH, whatever was wrong with it. */
export const REFUSED = 'this controller does not accept this agent key (unknown, revoked or not the key it issued)';

/** Per-direction AEAD keys of one connection. */
export interface SessionKeys {
  /** Key for frames from controller to agent. */
  toAgent: Buffer;
  /** Key for frames from agent to controller. */
  toController: Buffer;
}

const HELLO = 1, AUTH = 2, WELCOME = 3, REFUSE = 4;
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

/** What a REFUSE signs: the HELLO and the whole AUTH message, as one side saw them. */
function refusalDigest(hello: Uint8Array, auth: Uint8Array): Buffer {
  return Buffer.concat([LABEL_REFUSE, createHash('sha256').update(hello).update(auth).digest()]);
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
    const authBody = Buffer.concat([msg.subarray(1, 65), msg.subarray(129)]);
    const th = hashTranscript(this.hello, authBody);
    // An unknown id costs the same verification as a known one (against a key no agent holds),
    // and gets the same answer: neither the time nor the reason tells which ids exist.
    const verified = ed25519Verify(Buffer.concat([LABEL_AGENT, th]), sig, pub ?? this.identity.publicKey);
    if (!pub || !verified) {
      throw new FlotillaError('UNAUTHORIZED', REFUSED, { context: { agentId, why: pub ? 'bad signature or replayed handshake' : 'unknown or revoked agent id' } });
    }
    const keys = deriveKeys(agree(this.eph, ephA), th);
    const welcome = Buffer.concat([Buffer.from([WELCOME]), ed25519Sign(Buffer.concat([LABEL_CONTROLLER, th]), ed25519SigningKey(this.identity.secretKey))]);
    return { agentId, keys, welcome };
  }

  /** The signed REFUSE answering `auth` (which `onAuth` refused with UNAUTHORIZED). */
  refusal(auth: Uint8Array): Buffer {
    return Buffer.concat([Buffer.from([REFUSE]), ed25519Sign(refusalDigest(this.hello, auth), ed25519SigningKey(this.identity.secretKey))]);
  }
}

/** The agent's side of one handshake. */
export class AgentHandshake {
  private readonly eph = x25519Ephemeral();
  private transcript: Buffer | undefined;
  private ephC: Uint8Array | undefined;
  private hello: Uint8Array | undefined;
  private auth: Buffer | undefined;

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
    this.hello = Buffer.from(hello);
    this.auth = Buffer.concat([Buffer.from([AUTH]), authBody.subarray(0, 64), Buffer.from(sig), authBody.subarray(64)]);
    return this.auth;
  }

  /**
   * Takes the controller's answer to AUTH: WELCOME gives the session keys. A REFUSE that verifies
   * throws UNAUTHORIZED with `context.refused` (final: this agent is not wanted); one that does not
   * verify throws CHANNEL, since it may be the work of whoever altered the handshake on the way.
   */
  onReply(msg: Uint8Array): SessionKeys {
    if (msg[0] !== REFUSE) return this.onWelcome(msg);
    if (!this.hello || !this.auth) fail('REFUSE before HELLO');
    if (msg.length === 1 + 64 && ed25519Verify(refusalDigest(this.hello, this.auth), msg.subarray(1), this.controllerKey)) {
      throw new FlotillaError('UNAUTHORIZED', `controller refused this agent: ${REFUSED}`, { context: { refused: true } });
    }
    fail('a refusal that does not verify (the handshake was altered on the way, or not by this controller)');
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
