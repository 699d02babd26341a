/**
 * The keys this controller has issued to agents. An agent is accepted only if its public key is
 * here and not revoked; a key is revoked when its agent's process is gone.
 */
import { randomBytes } from 'node:crypto';
import { generateIdentity } from '../agent/protocol/generate-identity.js';
import { keyToText } from '../agent/protocol/identity.js';
import type { AgentCredentials, Identity } from '../agent/protocol/identity.js';

interface Issued {
  publicKey: Uint8Array;
  pool: string;
  issuedAt: number;
}

export class AgentRegistry {
  private readonly issued = new Map<string, Issued>();

  constructor(private readonly controller: Identity) {}

  /**
   * A new agent id and keypair for `pool`. The returned credentials hold the agent's secret key:
   * hand them over on stdin or in a 0600 file, never in argv. Only the public half is kept here.
   */
  issue(pool: string, url: string, extra: Pick<AgentCredentials, 'slots' | 'cores' | 'idleTimeoutMs' | 'graceMs'> = {}): AgentCredentials {
    const agentId = `${pool}-${randomBytes(6).toString('hex')}`;
    const kp = generateIdentity();
    this.issued.set(agentId, { publicKey: kp.publicKey, pool, issuedAt: Date.now() });
    return { agentId, secretKey: keyToText(kp.secretKey), controllerKey: keyToText(this.controller.publicKey), url, pool, ...extra };
  }

  /** The public key issued for `agentId`, or undefined if unknown or revoked. */
  lookup(agentId: string): Uint8Array | undefined {
    return this.issued.get(agentId)?.publicKey;
  }

  /** The pool an agent was issued for. */
  poolOf(agentId: string): string | undefined {
    return this.issued.get(agentId)?.pool;
  }

  /** Forgets a key: its holder can no longer connect. */
  revoke(agentId: string): void {
    this.issued.delete(agentId);
  }
}
