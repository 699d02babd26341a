/**
 * Per-lane setup state: each setup id runs once on a lane, before the first task that needs it,
 * and its (awaited) value is every such task's `ctx.setup`. A setup that throws is remembered:
 * the tasks that need it fail with SETUP_FAILED and its error, and it is not run again per task.
 * A setup that does not settle within its time limit fails the same way, and is marked
 * `timedOut` so the controller replaces the lane (its code may still be running).
 */
import { errorProps, FlotillaError } from '../contract/errors.js';

/** How long a lane waits for a module import or a setup when the spec names no limit. */
export const DEFAULT_SETUP_TIMEOUT_MS = 10 * 60_000;

/** One setup id's state on this lane. */
export interface SetupState {
  /** Set while the setup runs. */
  pending?: Promise<void>;
  value?: unknown;
  error?: FlotillaError;
}

export class Setups {
  private readonly states = new Map<string, SetupState>();

  /** The state of setup `id` if it was started. */
  peek(id: string): SetupState | undefined {
    return this.states.get(id);
  }

  /** The state of setup `id`, starting it with `run` on first use, bounded by `timeoutMs`. */
  state(id: string, run: () => unknown, timeoutMs = DEFAULT_SETUP_TIMEOUT_MS): SetupState {
    const st = this.states.get(id);
    if (st) return st;
    const state: SetupState = {};
    this.states.set(id, state);
    let over = false;
    let timer: NodeJS.Timeout | undefined;
    const running = (async () => {
      try {
        const value = await run();
        // Too late: the tasks already failed; what it made is released now.
        if (over) return void dispose(value).catch(() => {});
        state.value = value;
      } catch (err) {
        if (!over) state.error = setupFailed(err);
      }
    })();
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        over = true;
        state.error = prepTimedOut(`setup ${short(id)}`, 'finish', timeoutMs);
        resolve();
      }, timeoutMs);
      timer.unref();
    });
    const pending = Promise.race([running, limit]);
    state.pending = pending;
    // Cleared in a later turn, never before it is set (a setup may throw synchronously).
    void pending.then(() => {
      over = true;
      clearTimeout(timer);
      state.pending = undefined;
    });
    return state;
  }

  /**
   * Forgets setups (these ids, or all): a later task runs them again. Their values are disposed
   * once `idle` settles (the task running now may still use one).
   */
  async drop(ids?: readonly string[], idle: Promise<unknown> = Promise.resolve()): Promise<void> {
    const which = ids ?? [...this.states.keys()];
    const disposing: Promise<void>[] = [];
    for (const id of which) {
      const st = this.states.get(id);
      if (!st) continue;
      this.states.delete(id);
      disposing.push((async () => {
        await st.pending;
        await idle;
        if (st.error === undefined) await dispose(st.value);
      })().catch(() => {})); // a failing dispose is the value's business, not the next task's
    }
    await Promise.all(disposing);
  }
}

/**
 * The error of a preparation (an import, a setup) that did not settle in time; its action asks
 * the controller to replace the lane once its other work is done.
 */
export function prepTimedOut(what: string, verb: 'finish' | 'load', timeoutMs: number): FlotillaError {
  return new FlotillaError('SETUP_FAILED', `${what} did not ${verb} within ${timeoutMs} ms (map option setupTimeoutMs); the lane will be replaced`, {
    context: { timedOut: true },
    action: 'replace-lane',
  });
}

/** A setup id short enough for a message: module setups read `m:<hash>:<export>`. */
function short(id: string): string {
  const m = /^m:([0-9a-f]{12})[0-9a-f]*:(.*)$/.exec(id);
  return m ? `${m[2]} (artifact ${m[1]})` : id.slice(0, 12);
}

/** Calls `Symbol.asyncDispose`, `Symbol.dispose` or `dispose()` on a value that has one. */
async function dispose(value: unknown): Promise<void> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
  const v = value as Record<PropertyKey, unknown>;
  const asyncDispose = (Symbol as { asyncDispose?: symbol }).asyncDispose;
  const syncDispose = (Symbol as { dispose?: symbol }).dispose;
  for (const key of [asyncDispose, syncDispose, 'dispose']) {
    if (key !== undefined && typeof v[key] === 'function') {
      await (v[key] as () => unknown).call(value);
      return;
    }
  }
}

function setupFailed(err: unknown): FlotillaError {
  const e = err instanceof Error ? err : undefined;
  const what = e ? `${e.name}: ${e.message}` : String(err);
  return new FlotillaError('SETUP_FAILED', `setup failed: ${what}`, { cause: err, remoteName: e?.name, stack: e?.stack, props: e && errorProps(e) });
}
