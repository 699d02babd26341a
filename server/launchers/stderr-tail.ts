/**
 * An agent's stderr as every launcher reads it: the last bytes kept for the reason of a failure,
 * and each complete line handed on once. A line may arrive in pieces (a pipe or an SSH channel
 * cuts where it likes): the piece after the last newline waits for the rest, and is handed on
 * at the end of the stream if the rest never comes.
 */

/** Bytes of stderr kept for an exit's reason. */
export const TAIL_BYTES = 8 * 1024;
/** A "line" longer than this is handed on in parts, so a stream without newlines cannot grow memory. */
const MAX_LINE = 64 * 1024;

export class StderrTail {
  private kept = '';
  private partial = '';

  constructor(private readonly onLine?: (line: string) => void) {}

  /** The last TAIL_BYTES characters seen. */
  get tail(): string {
    return this.kept;
  }

  /** Takes the next chunk of the stream. */
  push(chunk: string | Buffer): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.kept = (this.kept + text).slice(-TAIL_BYTES);
    if (!this.onLine) return;
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.emit(line);
    while (this.partial.length > MAX_LINE) {
      this.emit(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
  }

  /** The stream ended: a last line without its newline is handed on now. */
  end(): void {
    if (this.partial) this.emit(this.partial);
    this.partial = '';
  }

  private emit(line: string): void {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l) this.onLine!(l);
  }
}
