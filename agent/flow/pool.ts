/**
 * `within: 'threads' | 'process'`: a unit's rows run on worker threads or child processes.
 * Threads share one queue and take rows as they free up; each process runs one group's rows,
 * one after another. At most `workersWithin` workers run at once. A worker that dies fails the
 * stage it was running, and the rows it had not started go to a new worker. Abort stops every
 * worker (asked first, so commands die; killed after a grace) before the unit rejects.
 */
import { decodeValue } from '../../contract/codec.js';
import type { FlowRowResult, FlowUnitDef, FlowUnitResult, FlowUnitRow, StageOutcome } from '../../contract/flow-unit.js';
import { KILL_GRACE_MS } from './command.js';
import { startProcess, startThread } from './handles.js';
import type { WorkerHandle } from './handles.js';
import { skipped } from './run-row.js';
import type { FromFlowWorker, WireOutcome } from './wire.js';

/** How long an aborted worker gets to stop its commands and exit before it is killed. */
export const STOP_GRACE_MS = KILL_GRACE_MS + 300;

/** Rows that the same kind of worker takes in turn, and how many workers may share them. */
interface Queue {
  rows: number[];
  maxLanes: number;
  lanes: number;
}

interface Lane {
  handle: WorkerHandle;
  queue: Queue;
  /** The row in flight: its index in the unit's input, the outcomes so far, the stage running. */
  current?: { i: number; outcomes: Record<string, StageOutcome>; stage?: string };
  /** Ends a worker whose stage ignores its timeout (a synchronous loop never sees its signal). */
  watchdog?: NodeJS.Timeout;
  /** Set when the watchdog ended the worker: the stage timed out, it did not crash. */
  timedOut?: { stage: string; ms: number };
}

/** What a unit's pool needs besides the rows. */
export interface PoolEnv {
  attempt: number;
  signal: AbortSignal;
  /** Told of each row as it finishes (its stages done, or its worker dead). */
  onRow?: (r: FlowRowResult) => void;
}

/** Runs a unit's rows on threads or processes; resolves with their results in input order. */
export function runPool(def: FlowUnitDef, rows: readonly FlowUnitRow[], env: PoolEnv): Promise<FlowUnitResult> {
  const queues: Queue[] = def.within === 'threads' ? [{ rows: rows.map((_r, i) => i), maxLanes: Math.min(def.workersWithin, rows.length), lanes: 0 }] : byGroup(rows);
  const start = def.within === 'threads' ? startThread : startProcess;
  const results: FlowUnitResult = new Array(rows.length);
  let left = rows.length;
  const lanes = new Set<Lane>();

  return new Promise((resolve, reject) => {
    let killTimer: NodeJS.Timeout | undefined;
    const settleIfIdle = (): void => {
      if (lanes.size > 0) return;
      clearTimeout(killTimer);
      env.signal.removeEventListener('abort', onAbort);
      if (env.signal.aborted) reject(env.signal.reason);
      else if (left > 0) reject(new Error(`flow unit ended with ${left} row(s) unrun`)); // a bug, not a user error
      else resolve(results);
    };

    const feed = (lane: Lane): void => {
      const i = lane.queue.rows.shift();
      if (i === undefined) return lane.handle.send({ t: 'end' });
      lane.current = { i, outcomes: {} };
      lane.handle.send({ t: 'row', i, row: rows[i]! });
    };

    const onMessage = (lane: Lane, m: FromFlowWorker): void => {
      const cur = lane.current;
      if (!cur || m.i !== cur.i) return;
      if (m.t === 'start') {
        cur.stage = m.stage;
        const ms = def.stages.find((s) => s.name === m.stage)?.timeoutMs ?? 0;
        if (ms > 0) {
          lane.watchdog = setTimeout(() => {
            lane.timedOut = { stage: m.stage, ms };
            lane.handle.kill();
          }, ms + STOP_GRACE_MS);
        }
      } else if (m.t === 'outcome') {
        clearTimeout(lane.watchdog);
        cur.outcomes[m.stage] = fromWire(m.outcome);
        cur.stage = undefined;
      } else {
        const r = (results[cur.i] = { row: rows[cur.i]!.row, stages: ordered(def, cur.outcomes) });
        left--;
        env.onRow?.(r);
        lane.current = undefined;
        if (!env.signal.aborted) feed(lane);
      }
    };

    const onExit = (lane: Lane, why: { code: number | null; signal: string | null; error?: string }): void => {
      lanes.delete(lane);
      lane.queue.lanes--;
      clearTimeout(lane.watchdog);
      const cur = lane.current;
      if (cur && !env.signal.aborted) {
        const r = (results[cur.i] = crashed(def, rows[cur.i]!, cur.outcomes, cur.stage, lane.handle.name, why, lane.timedOut));
        left--;
        env.onRow?.(r);
      }
      if (!env.signal.aborted) fill();
      settleIfIdle();
    };

    const fill = (): void => {
      for (const q of queues) {
        while (q.rows.length > 0 && q.lanes < q.maxLanes && lanes.size < def.workersWithin) {
          q.lanes++;
          const lane = { queue: q } as Lane;
          lanes.add(lane);
          lane.handle = start({ onMessage: (m) => onMessage(lane, m), onExit: (why) => onExit(lane, why) });
          lane.handle.send({ t: 'def', def, attempt: env.attempt });
          feed(lane);
        }
      }
    };

    const onAbort = (): void => {
      for (const lane of lanes) lane.handle.send({ t: 'abort' });
      killTimer = setTimeout(() => {
        for (const lane of lanes) lane.handle.kill();
      }, STOP_GRACE_MS);
    };
    env.signal.addEventListener('abort', onAbort, { once: true });
    fill();
  });
}

/** One queue a group, in order of first appearance; each group is one process's work. */
function byGroup(rows: readonly FlowUnitRow[]): Queue[] {
  const groups = new Map<number, number[]>();
  rows.forEach((r, i) => {
    const g = groups.get(r.group);
    if (g) g.push(i);
    else groups.set(r.group, [i]);
  });
  return [...groups.values()].map((g) => ({ rows: g, maxLanes: 1, lanes: 0 }));
}

function fromWire(o: WireOutcome): StageOutcome {
  return o.ok ? { ...o, value: decodeValue(o.value) } : o;
}

/** The outcomes in the flow's stage order, as an inline run would have them. */
function ordered(def: FlowUnitDef, outcomes: Record<string, StageOutcome>): Record<string, StageOutcome> {
  const out: Record<string, StageOutcome> = {};
  for (const s of def.stages) if (outcomes[s.name]) out[s.name] = outcomes[s.name]!;
  return out;
}

/**
 * The result of a row whose worker died: finished stages keep their outcomes, the stage that was
 * running (or the first not yet run) fails naming the worker and how it ended, the rest are skipped.
 */
function crashed(
  def: FlowUnitDef,
  row: FlowUnitRow,
  outcomes: Record<string, StageOutcome>,
  running: string | undefined,
  worker: string,
  why: { code: number | null; signal: string | null; error?: string },
  timedOut: { stage: string; ms: number } | undefined,
): FlowUnitResult[number] {
  const how = why.error ? `failed (${why.error})` : why.signal ? `was killed by ${why.signal}` : `exited with code ${why.code}`;
  const root = new Map<string, string>();
  const out: Record<string, StageOutcome> = {};
  let culprit = running;
  for (const s of def.stages) {
    const done = outcomes[s.name];
    if (done) {
      out[s.name] = done;
      if (!done.ok) root.set(s.name, done.error.code === 'SKIPPED' ? (root.get((s.needs ?? []).find((n) => root.has(n)) ?? '') ?? s.name) : s.name);
      continue;
    }
    const failedNeed = (s.needs ?? []).find((n) => root.has(n));
    if (failedNeed !== undefined) {
      root.set(s.name, root.get(failedNeed)!);
      out[s.name] = skipped(root.get(failedNeed)!);
      continue;
    }
    culprit ??= s.name;
    if (s.name === culprit) {
      root.set(s.name, s.name);
      out[s.name] = timedOut?.stage === s.name ? {
        ok: false,
        ms: timedOut.ms,
        error: { code: 'TIMEOUT', message: `stage "${s.name}" timed out after ${timedOut.ms} ms; it did not stop, so flow worker ${worker} was ended`, context: { stage: s.name, row: row.row, timedOut: true, worker } },
      } : {
        ok: false,
        ms: 0,
        error: { code: 'TASK_ERROR', message: `flow worker ${worker} ${how} while running stage "${s.name}" of row ${row.row}`, context: { stage: s.name, row: row.row, exitCode: why.code, signal: why.signal, worker } },
      };
    } else {
      out[s.name] = { ok: false, ms: 0, error: { code: 'SKIPPED', message: `not run: flow worker ${worker} ${how} during stage "${culprit}"` } };
    }
  }
  return { row: row.row, stages: out };
}
