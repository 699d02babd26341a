/**
 * Log lines for refused agent connections, bounded whatever the churn: the first refusal after a
 * quiet spell is logged at once, the rest are counted by reason and summed up in one line per
 * interval. A peer that opens and fails a thousand handshakes a second costs the log one line
 * every ten seconds.
 */

/** Distinct reasons counted per interval; the rest are summed under "other". */
const MAX_REASONS = 16;

/** Reason categories from refusal messages: no peer-chosen text (close reasons) and no ids. */
export function refusalReason(err: unknown): string {
  const e = err as { message?: unknown; context?: { why?: unknown } };
  if (typeof e?.context?.why === 'string') return e.context.why;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return msg.replace(/\s*\(.*$/s, '').replace(/"[^"]*"/g, '…').slice(0, 80);
}

export class RefusalLog {
  private counts = new Map<string, number>();
  private total = 0;
  private lastFrom = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: (line: string) => void, private readonly intervalMs = 10_000) {}

  /** Records one refused connection from `from` for `reason` (see `refusalReason`). */
  note(from: string, reason: string): void {
    if (!this.timer) {
      this.log(`refused 1 agent connection (from ${from}: ${reason})`);
      this.timer = setInterval(() => this.flush(), this.intervalMs);
      this.timer.unref();
      return;
    }
    const key = this.counts.has(reason) || this.counts.size < MAX_REASONS ? reason : 'other';
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.total++;
    this.lastFrom = from;
  }

  /** Logs the summary of refusals counted so far (none: the quiet spell starts, no line). */
  flush(): void {
    if (this.total === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const by = [...this.counts].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`);
    this.log(`refused ${this.total} more agent connection(s) in the last ${Math.round(this.intervalMs / 1000)} s (last from ${this.lastFrom}): ${by.join('; ')}`);
    this.counts = new Map();
    this.total = 0;
  }

  close(): void {
    this.flush();
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
