/**
 * Waiting for a condition of the control plane: checked now and on every signal it depends on,
 * settled at the first of ready, failed or timed out; its subscriptions and timer go with it.
 * Any number of such waits may run at once.
 */

export interface WaitForOptions {
  /** The condition waited for. */
  ready(): boolean;
  /** A reason to stop waiting (the error to reject with), if there is one now. */
  failed?(): Error | undefined;
  /** Subscriptions that call `check` when the condition may have changed; each returns its unsubscribe. */
  on: Array<(check: () => void) => () => void>;
  timeoutMs: number;
  /** The error when time runs out first. */
  timedOut(): Error;
}

export function waitFor(o: WaitForOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const offs: Array<() => void> = [];
    let timer: NodeJS.Timeout | undefined;
    const end = (err?: Error) => {
      clearTimeout(timer);
      for (const off of offs) off();
      if (err) reject(err);
      else resolve();
    };
    const check = (): boolean => {
      if (o.ready()) return end(), true;
      const err = o.failed?.();
      return err ? (end(err), true) : false;
    };
    if (check()) return;
    for (const on of o.on) offs.push(on(() => void check()));
    timer = setTimeout(() => (o.ready() ? end() : end(o.timedOut())), o.timeoutMs);
  });
}
