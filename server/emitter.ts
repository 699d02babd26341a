/**
 * A small typed emitter for the core's own wiring (a job finished, lanes changed, a pool gave
 * up): any number of listeners, each removed by the function `on` returns. A listener that
 * throws is reported and the others still run: one party's bug never breaks the emitter.
 */

type Listener = (value: never) => void;

/** A typed emitter: `E` maps each event's name to what it carries. */
export class Emitter<E extends object> {
  /**
   * Each type's listener, or its set of them once there are two: every job has an emitter whose
   * types have one listener or two, and a set for each would cost every single-task map.
   */
  readonly #listeners = new Map<keyof E, Listener | Set<Listener>>();

  /** Calls `listener` with every `type` event from now on; returns the function that stops it. */
  on<K extends keyof E>(type: K, listener: (value: E[K]) => void): () => void {
    const l = listener as Listener;
    const cur = this.#listeners.get(type);
    if (cur === undefined) this.#listeners.set(type, l);
    else if (typeof cur === 'function') {
      if (cur !== l) this.#listeners.set(type, new Set([cur, l]));
    } else cur.add(l);
    return () => this.#off(type, l);
  }

  #off(type: keyof E, l: Listener): void {
    const cur = this.#listeners.get(type);
    if (cur === l) this.#listeners.delete(type);
    else if (typeof cur === 'object') cur.delete(l);
  }

  /** Calls `listener` with the next `type` event only. */
  once<K extends keyof E>(type: K, listener: (value: E[K]) => void): () => void {
    const off = this.on(type, (value) => {
      off();
      listener(value);
    });
    return off;
  }

  /** Whether anyone listens for `type`. */
  has(type: keyof E): boolean {
    const cur = this.#listeners.get(type);
    return cur !== undefined && (typeof cur === 'function' || cur.size > 0);
  }

  emit<K extends keyof E>(type: K, value: E[K]): void {
    const cur = this.#listeners.get(type);
    if (cur === undefined) return;
    if (typeof cur === 'function') return this.#call(type, cur, value);
    // A copy, so a listener added meanwhile waits for the next event.
    for (const listener of [...cur]) this.#call(type, listener, value);
  }

  #call<K extends keyof E>(type: K, listener: Listener, value: E[K]): void {
    try {
      (listener as (value: E[K]) => void)(value);
    } catch (err) {
      process.emitWarning(`a listener of "${String(type)}" threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
}
