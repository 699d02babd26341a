/**
 * A small typed emitter for the core's own wiring (a job finished, lanes changed, a pool gave
 * up): any number of listeners, each removed by the function `on` returns. A listener that
 * throws is reported and the others still run: one party's bug never breaks the emitter.
 */

/** A typed emitter: `E` maps each event's name to what it carries. */
export class Emitter<E extends object> {
  readonly #listeners = new Map<keyof E, Set<(value: never) => void>>();

  /** Calls `listener` with every `type` event from now on; returns the function that stops it. */
  on<K extends keyof E>(type: K, listener: (value: E[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as (value: never) => void);
    return () => void set.delete(listener as (value: never) => void);
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
    return (this.#listeners.get(type)?.size ?? 0) > 0;
  }

  emit<K extends keyof E>(type: K, value: E[K]): void {
    const set = this.#listeners.get(type);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as (value: E[K]) => void)(value);
      } catch (err) {
        process.emitWarning(`a listener of "${String(type)}" threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
  }
}
