/**
 * Parties waiting for the next change of something (a results log grew, a flow moved, a queue
 * drained): each waits once, and `wake` calls everyone waiting at that moment. One helper for
 * client, server and agent alike; it imports nothing.
 */
export class Waiters {
  /** Made when the first waits: most things waited on have nobody waiting most of the time. */
  #waiting: Array<() => void> | undefined;

  /** How many wait now. */
  get size(): number {
    return this.#waiting?.length ?? 0;
  }

  /** Calls `fn` at the next `wake`, once. */
  add(fn: () => void): void {
    // Most wait alone: a list of one, not a push's room for seventeen.
    if (this.#waiting === undefined || this.#waiting.length === 0) this.#waiting = [fn];
    else this.#waiting.push(fn);
  }

  /** Resolves at the next `wake`. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.add(resolve));
  }

  /** Wakes everyone waiting now; those who wait again from here wait for the next wake. */
  wake(): void {
    const waiting = this.#waiting;
    if (waiting === undefined || waiting.length === 0) return;
    this.#waiting = undefined;
    for (const fn of waiting) fn();
  }
}
