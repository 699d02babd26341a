/**
 * The keys this controller has issued to agents. An agent is accepted only if its public key is
 * here and not revoked; a key is revoked when its agent's process is gone.
 */
import { randomBytes } from 'node:crypto';
import { generateIdentity } from '../agent/protocol/generate-identity.js';
import { keyToText } from '../agent/protocol/identity.js';
import type { AgentCredentials, Identity } from '../agent/protocol/identity.js';
import type { JobStore } from './store/job-store.js';

/** Keys from before a restart that no agent has used for this long are dropped. */
const STALE_MS = 7 * 24 * 3600_000;

interface Issued {
  publicKey: Uint8Array;
  pool: string;
  issuedAt: number;
}

export class AgentRegistry {
  private readonly issued = new Map<string, Issued>();

  /**
   * With a store, issued keys are kept there too, so agents that outlive a controller restart
   * (SSH agents started detached, SLURM jobs) are let back in when they reconnect.
   */
  constructor(private readonly controller: Identity, private readonly store?: JobStore) {
    for (const a of store?.agents() ?? []) {
      if (Date.now() - a.issuedAt > STALE_MS) store!.deleteAgent(a.id);
      else this.issued.set(a.id, { publicKey: a.publicKey, pool: a.pool, issuedAt: a.issuedAt });
    }
  }

  /**
   * A new agent id and keypair for `pool`. The returned credentials hold the agent's secret key:
   * hand them over on stdin or in a 0600 file, never in argv. Only the public half is kept here.
   */
  issue(pool: string, url: string, extra: Pick<AgentCredentials, 'slots' | 'cores' | 'idleTimeoutMs' | 'graceMs'> = {}): AgentCredentials {
    const agentId = `${pool}-${randomBytes(6).toString('hex')}`;
    const kp = generateIdentity();
    const issuedAt = Date.now();
    this.issued.set(agentId, { publicKey: kp.publicKey, pool, issuedAt });
    this.store?.saveAgent(agentId, pool, kp.publicKey, issuedAt);
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
    if (this.issued.delete(agentId)) this.store?.deleteAgent(agentId);
  }
}
