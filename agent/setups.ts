/**
 * Per-lane setup state: each setup id runs once on a lane, before the first task that needs it,
 * and its (awaited) value is every such task's `ctx.setup`. A setup that throws is remembered:
 * the tasks that need it fail with SETUP_FAILED and its error, and it is not run again per task.
 */
import { FlotillaError } from './protocol/errors.js';

/** One setup id's state on this lane. */
export interface SetupState {
  /** Set while the setup runs. */
  pending?: Promise<void>;
  value?: unknown;
  error?: FlotillaError;
}

export class Setups {
  private readonly states = new Map<string, SetupState>();

  /** The state of setup `id`, starting it with `run` on first use. */
  state(id: string, run: () => unknown): SetupState {
    const st = this.states.get(id);
    if (st) return st;
    const state: SetupState = {};
    this.states.set(id, state);
    const running = (async () => {
      try {
        state.value = await run();
      } catch (err) {
        state.error = setupFailed(err);
      }
    })();
    state.pending = running;
    // Cleared in a later turn, never before it is set (a setup may throw synchronously).
    void running.then(() => {
      state.pending = undefined;
    });
    return state;
  }

  /** Forgets setups (these ids, or all) and disposes their values; a later task runs them again. */
  async drop(ids?: readonly string[]): Promise<void> {
    const which = ids ?? [...this.states.keys()];
    const disposing: Promise<void>[] = [];
    for (const id of which) {
      const st = this.states.get(id);
      if (!st) continue;
      this.states.delete(id);
      disposing.push((async () => {
        await st.pending;
        if (st.error === undefined) await dispose(st.value);
      })().catch(() => {})); // a failing dispose is the value's business, not the next task's
    }
    await Promise.all(disposing);
  }
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
  return new FlotillaError('SETUP_FAILED', `setup failed: ${what}`, { cause: err, remoteName: e?.name, stack: e?.stack });
}
