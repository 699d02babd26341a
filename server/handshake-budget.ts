/**
 * How many agent handshakes may be in progress at once: the peers behind them have proved
 * nothing yet. One budget per listener (the Unix socket's is not the TCP port's, so strangers on
 * the network cannot lock out local agents), a share per source address, and when the budget is
 * full a newcomer from a quieter source displaces the oldest handshake of the busiest one.
 */

/** Something whose handshake is in progress and can be cut short. */
export interface Pending {
  terminate(): void;
}

export class HandshakeBudget {
  private readonly bySource = new Map<string, Set<Pending>>();
  private readonly sourceOf = new Map<Pending, string>();

  /**
   * @param max handshakes in progress on this listener at once
   * @param perSource of which at most this many from one address
   */
  constructor(private readonly max: number, private readonly perSource: number) {}

  /** Handshakes in progress. */
  get pending(): number {
    return this.sourceOf.size;
  }

  /** Admits a handshake from `source`, or returns why not. Every admitted one must be released. */
  admit(source: string, p: Pending): string | undefined {
    const mine = this.bySource.get(source);
    if ((mine?.size ?? 0) >= this.perSource) return `too many handshakes in progress from ${source}`;
    if (this.sourceOf.size >= this.max) {
      let busiest: Set<Pending> | undefined;
      for (const set of this.bySource.values()) if (!busiest || set.size > busiest.size) busiest = set;
      // Only a source holding clearly more than the newcomer's gives way: no churn among equals.
      if (!busiest || busiest.size <= (mine?.size ?? 0) + 1) return 'too many handshakes in progress';
      const [oldest] = busiest;
      this.release(oldest!);
      oldest!.terminate();
    }
    const set = mine ?? new Set<Pending>();
    set.add(p);
    this.bySource.set(source, set);
    this.sourceOf.set(p, source);
    return undefined;
  }

  /** Ends a handshake's claim (done, failed or displaced); a second call does nothing. */
  release(p: Pending): void {
    const source = this.sourceOf.get(p);
    if (source === undefined) return;
    this.sourceOf.delete(p);
    const set = this.bySource.get(source)!;
    set.delete(p);
    if (set.size === 0) this.bySource.delete(source);
  }
}
