/** The last N log lines of all agents, so `flotilla logs` can show what an agent said before it died. */
export interface LogLine {
  agentId: string;
  at: number;
  line: string;
}

export class LogRing {
  private readonly lines: LogLine[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  /** Adds a line, stamped `at` (when the agent wrote it, if it said), else now. */
  push(agentId: string, line: string, at?: number): void {
    const entry = { agentId, at: at !== undefined && Number.isFinite(at) ? at : Date.now(), line };
    if (this.lines.length < this.capacity) this.lines.push(entry);
    else this.lines[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Lines oldest first, of one agent or all. */
  read(agentId?: string): LogLine[] {
    const ordered = this.lines.length < this.capacity ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return agentId ? ordered.filter((l) => l.agentId === agentId) : ordered;
  }
}
