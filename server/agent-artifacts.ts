/**
 * Which module artifacts each connected agent has, and sending it those it lacks. An agent's
 * lanes share its disk cache, so each agent is sent each artifact once, on one lane; a lane that
 * needs one a sibling has not written yet waits for it, then asks (`need`), and is answered here.
 */
import type { ToAgent } from '../contract/messages.js';
import type { ArtifactStore } from './artifacts.js';
import type { Lane } from './lane.js';

const HASH = /^[0-9a-f]{64}$/;

export class ArtifactShipping {
  /** Artifacts each connected agent has (its disk cache at connect, plus what it was sent). */
  private readonly have = new Map<string, Set<string>>();
  /** Artifacts sent to agents, per agent id (kept after they leave) and in total. */
  readonly transfers = { total: 0, byAgent: new Map<string, number>() };

  constructor(private readonly store: () => ArtifactStore | undefined) {}

  /** A lane connected: what it reports of its agent's disk cache adds to what the agent has. */
  connected(lane: Lane): void {
    const arts = this.of(lane.agentId);
    const reported = lane.hello.arts;
    // An agent is authenticated, not trusted to be well-formed: only digests are kept.
    if (Array.isArray(reported)) for (const h of reported) if (typeof h === 'string' && HASH.test(h)) arts.add(h);
  }

  /** The agent's last lane went away: a new connection will report its cache afresh. */
  gone(agentId: string): void {
    this.have.delete(agentId);
  }

  /**
   * Sends `lane` the artifacts its agent lacks (all of `hashes` when `force`, in answer to
   * `need`). One the store lacks is sent without code, so the tasks that need it fail with the
   * reason instead of waiting for it.
   */
  send(lane: Lane, hashes: readonly string[], force = false): void {
    const have = this.of(lane.agentId);
    for (const hash of hashes) {
      if (have.has(hash) && !force) continue;
      const code = this.store()?.get(hash);
      lane.channel.send(code === undefined ? { t: 'art', hash } : ({ t: 'art', hash, code } satisfies ToAgent));
      if (code === undefined) continue;
      have.add(hash);
      lane.artifactsSent++;
      this.transfers.total++;
      this.transfers.byAgent.set(lane.agentId, (this.transfers.byAgent.get(lane.agentId) ?? 0) + 1);
    }
  }

  private of(agentId: string): Set<string> {
    let arts = this.have.get(agentId);
    if (!arts) this.have.set(agentId, (arts = new Set()));
    return arts;
  }
}
