/**
 * A submitted flow: its id, status, collected rows, cancel. Obtained from `submit()`, or for a
 * flow submitted elsewhere (another process, the CLI) from `attachFlow(session, id)`.
 */
import { decodeValue } from '../../contract/codec.js';
import { FlotillaError } from '../../contract/errors.js';
import type { FlowStatus } from '../../contract/flow-types.js';
import { abortError } from '../abort.js';
import { fromTRPCError } from '../errors.js';
import type { Session } from '../session.js';
import { progressView } from '../progress/flow-bars.js';
import type { FlowRow } from './types.js';

/** Options of `collect()`. */
export interface CollectOptions {
  /** Progress bars per stage on stderr when it is a terminal. @default true */
  progress?: boolean;
  /** Aborting cancels the flow; collect() rejects with CANCELLED. */
  signal?: AbortSignal;
}

/** Rows per page of `flow.collect`. */
const PAGE = 1000;

export class FlowHandle<P = Record<string, unknown>, S = Record<string, unknown>> {
  /** @internal use `submit()` or `attachFlow()` */
  constructor(private readonly session: Session, readonly id: string) {}

  /** The flow's progress: state, plan, rows done / running / failed / cached / queued per stage. */
  async status(): Promise<FlowStatus> {
    try {
      return await this.session.api.flow.status.query({ id: this.id });
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /** Cancels the flow: queued units are dropped, running ones aborted. */
  async cancel(): Promise<{ cancelled: boolean }> {
    try {
      return await this.session.api.flow.cancel.mutate({ id: this.id });
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /**
   * Waits for the flow to finish, then resolves with one row per grid row in grid order. Failed
   * rows are rows (status 'failed' and their error), not a rejection; a cancelled flow rejects.
   */
  async collect(opts: CollectOptions = {}): Promise<FlowRow<P, S>[]> {
    return this.session.holding(this.collectRows(opts));
  }

  private async collectRows(opts: CollectOptions): Promise<FlowRow<P, S>[]> {
    const final = await this.finished(opts);
    if (final.state === 'cancelled') throw new FlotillaError('CANCELLED', `flow ${this.id} was cancelled`, { context: { flowId: this.id, jobId: final.jobId } });
    const rows: FlowRow<P, S>[] = [];
    try {
      for (let from = 0; from < final.rows; from += PAGE) {
        const page = await this.session.api.flow.collect.query({ id: this.id, from, max: PAGE });
        for (const row of decodeValue(page.rows) as FlowRow<P, S>[]) rows.push(row);
      }
    } catch (err) {
      throw fromTRPCError(err);
    }
    return rows;
  }

  /** @internal Resolves once the flow has finished, whatever its end. */
  async done(): Promise<void> {
    await this.finished({ progress: false }).catch(() => {});
  }

  /** Resolves with the final status, showing progress meanwhile. */
  private finished(opts: CollectOptions): Promise<FlowStatus> {
    const view = progressView(opts.progress);
    return new Promise<FlowStatus>((resolve, reject) => {
      let last: FlowStatus | undefined;
      let ended = false;
      let sub: { unsubscribe(): void } | undefined;
      const end = (err: unknown, s?: FlowStatus) => {
        if (ended) return;
        ended = true;
        opts.signal?.removeEventListener('abort', onAbort);
        // The subscription may report before subscribe() has returned it.
        queueMicrotask(() => sub?.unsubscribe());
        // The last bars are drawn before the caller goes on to print anything.
        void view.stop().then(() => (s ? resolve(s) : reject(fromTRPCError(err))));
      };
      const onAbort = () => {
        void this.cancel().catch(() => {});
        end(abortError(opts.signal!, `flow ${this.id}`, { flowId: this.id }));
      };
      sub = this.session.api.flow.progress.subscribe(
        { id: this.id },
        {
          onData: (s) => {
            last = s;
            view.update(s);
            if (s.state !== 'running') end(undefined, s);
          },
          onError: (err) => end(err),
          onComplete: () => (last && last.state !== 'running' ? end(undefined, last) : end(new FlotillaError('CLOSED', `the progress of flow ${this.id} ended before it finished`))),
        },
      );
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * A handle on a flow submitted earlier, by this or another program: `status()`, `collect()`,
 * `cancel()`. Its rows are untyped unless you say what they are.
 */
export function attachFlow<P = Record<string, unknown>, S = Record<string, unknown>>(session: Session, id: string): FlowHandle<P, S> {
  if (typeof id !== 'string' || id.length === 0) throw new FlotillaError('BAD_INPUT', `attachFlow needs a flow id such as "fl-1a2b3c4d5e6f", got ${JSON.stringify(id)}`);
  return new FlowHandle<P, S>(session, id);
}
