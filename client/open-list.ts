/**
 * What a session's runner has open (jobs whose results are on their way), in an intrusive list:
 * adding or removing one touches its neighbours and no hash table, which thousands of
 * single-task maps at once would otherwise grow and shrink.
 */
import type { FlotillaError } from '../contract/errors.js';

/** One open thing: ended with an error when the session closes; its links belong to the list. */
export interface OpenNode {
  abort(err: FlotillaError): void;
  prevOpen: OpenNode | undefined;
  nextOpen: OpenNode | undefined;
}

export class OpenList {
  #head: OpenNode | undefined;

  add(n: OpenNode): void {
    n.prevOpen = undefined;
    n.nextOpen = this.#head;
    if (this.#head) this.#head.prevOpen = n;
    this.#head = n;
  }

  /** Removes `n`; a node not in the list is left alone. */
  delete(n: OpenNode): void {
    if (n.prevOpen) n.prevOpen.nextOpen = n.nextOpen;
    else if (this.#head === n) this.#head = n.nextOpen;
    else return;
    if (n.nextOpen) n.nextOpen.prevOpen = n.prevOpen;
    n.prevOpen = n.nextOpen = undefined;
  }

  /** Every node now, as a list of its own (aborting one removes it from this). */
  all(): OpenNode[] {
    const out: OpenNode[] = [];
    for (let n = this.#head; n; n = n.nextOpen) out.push(n);
    return out;
  }
}
