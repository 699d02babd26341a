/**
 * The worker side of `within: 'threads' | 'process'`: builds the stages once, runs the rows it
 * is handed one after another, reports each stage as it ends. A process worker whose parent goes
 * away (IPC channel closed) stops its row, killing its commands, and exits.
 */
import { parentPort } from 'node:worker_threads';
import { FlotillaError } from '../../contract/errors.js';
import type { FlowUnitRow } from '../../contract/flow-unit.js';
import { runRow } from './run-row.js';
import { buildStages } from './stages.js';
import type { BuiltStage } from './stages.js';
import type { FromFlowWorker, ToFlowWorker } from './wire.js';

interface Port {
  send(msg: FromFlowWorker): void;
  exit(): void;
}

function serve(port: Port): (msg: ToFlowWorker) => void {
  let stages: BuiltStage[] = [];
  let attempt = 1;
  const ac = new AbortController();
  let inFlight: Promise<unknown> | undefined;
  const queue: Array<{ i: number; row: FlowUnitRow }> = [];

  const pump = (): void => {
    if (inFlight || ac.signal.aborted) return;
    const next = queue.shift();
    if (!next) return;
    const { i, row } = next;
    inFlight = runRow(stages, row, { attempt, signal: ac.signal }, {
      onStart: (stage) => port.send({ t: 'start', i, stage }),
      onOutcome: (stage, o, encoded) => port.send({ t: 'outcome', i, stage, outcome: o.ok ? { ok: true, value: encoded!, ms: o.ms, ...(o.cached ? { cached: true as const } : {}) } : o }),
    }).then(
      () => {
        inFlight = undefined;
        port.send({ t: 'done', i });
        pump();
      },
      () => {
        inFlight = undefined; // aborted: the abort handler exits
      },
    );
  };

  const stop = (): void => {
    ac.abort(new FlotillaError('CANCELLED', 'flow unit aborted'));
    void Promise.resolve(inFlight).finally(() => port.exit());
  };

  return (msg) => {
    switch (msg.t) {
      case 'def':
        attempt = msg.attempt;
        stages = buildStages(msg.def);
        return;
      case 'row':
        queue.push({ i: msg.i, row: msg.row });
        return pump();
      case 'abort':
        return stop();
      case 'end':
        // Stage code may leave timers or sockets open: the worker's end is not theirs to decide.
        return void Promise.resolve(inFlight).finally(() => port.exit());
    }
  };
}

/** Entry of a flow worker thread (main.ts, `workerData.flowWorker`). */
export function serveThread(): void {
  const p = parentPort;
  if (!p) throw new Error('serveThread runs only in a worker thread');
  const handle = serve({ send: (m) => p.postMessage(m), exit: () => process.exit(0) });
  p.on('message', handle);
}

/** Entry of a flow worker process (main.ts, `--flow-worker`): IPC with the unit that forked it. */
export function serveProcess(): void {
  if (!process.send) throw new Error('--flow-worker runs only as a forked child with an IPC channel');
  const handle = serve({ send: (m) => void process.send?.(m, undefined, {}, () => {}), exit: () => process.exit(0) });
  process.on('message', (m) => handle(m as ToFlowWorker));
  // The unit (or the whole agent) is gone: nobody wants the rows, and no command may outlive us.
  process.on('disconnect', () => handle({ t: 'abort' }));
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => handle({ t: 'abort' }));
}
