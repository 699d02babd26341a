/**
 * A flow's statuses as it progresses, for the `flow.progress` subscription: one now, one after
 * each burst of changes (at most ~10 a second), the final one last.
 */
import { FlotillaError } from '../../contract/errors.js';
import type { FlowRun } from './run.js';
import type { FlowStatus } from '../../contract/flow-types.js';

/** How long a burst of unit results and rows is gathered into one status. */
const BURST_MS = 100;

/**
 * Yields the run's statuses until it finishes, `signal` aborts (the subscriber left), or the
 * controller closes (`closing`; then CLOSED). Its listeners go when it ends: a long-lived
 * controller serves many collects, and a listener left on its closing signal would stay forever.
 */
export async function* watchRun(run: FlowRun, closing: AbortSignal, signal?: AbortSignal): AsyncGenerator<FlowStatus> {
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  signal?.addEventListener('abort', done, { once: true });
  closing.addEventListener('abort', done, { once: true });
  try {
    for (;;) {
      yield run.status();
      if (run.finished || signal?.aborted) return;
      if (closing.aborted) throw new FlotillaError('CLOSED', `the controller closed before flow ${run.record.id} finished`);
      await Promise.race([run.changed(), ended]);
      // The burst ends early when the flow does: its final status is not held back.
      if (!run.finished) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, BURST_MS))), run.whenFinished(), ended]);
        clearTimeout(timer);
      }
    }
  } finally {
    signal?.removeEventListener('abort', done);
    closing.removeEventListener('abort', done);
  }
}
