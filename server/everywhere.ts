/**
 * `everywhere`: runs a function once on every lane of a pool connected now (mirai's
 * everywhere(), Dask's client.run), for per-slot state: warm a cache, load a model, set a
 * process-wide option, check what each machine has. Each lane's task gets `{ agentId, host,
 * lane }` as its item. One outcome per lane comes back, in the order the lanes were taken.
 * Lanes that connect later get nothing: call it again, or use a map's `setup` for state every
 * lane must have before its tasks. Not durable: a restart of the controller ends the call.
 */
import { randomBytes } from 'node:crypto';
import { encodeValue } from '../contract/codec.js';
import { checkGlobals } from './submit-checks.js';
import { FlotillaError } from '../contract/errors.js';
import { specArtifacts } from '../contract/fnspec.js';
import type { ControlPlane } from './control-plane.js';
import { Job } from './job.js';
import type { TaskResult } from './job.js';
import { everywhereSchema } from '../contract/schemas.js';
import type { EverywhereInput } from '../contract/schemas.js';
import type { EverywhereResult, LaneWhere } from '../contract/agent-types.js';

export type { EverywhereResult, LaneWhere, EverywhereInput };
export { everywhereSchema };


/**
 * Runs `input.fn` once on each lane of the pool connected now; resolves when every lane has
 * answered (or was lost, AGENT_LOST). Aborting `signal` cancels what is still running.
 * @throws FlotillaError BAD_INPUT for an unknown pool or artifacts the controller lacks
 */
export async function runEverywhere(plane: ControlPlane, input: EverywhereInput, signal?: AbortSignal): Promise<EverywhereResult[]> {
  const poolName = input.pool ?? plane.defaultPool;
  if (!plane.pools.has(poolName)) {
    throw new FlotillaError('BAD_INPUT', `everywhere: no pool "${poolName}" (pools: ${[...plane.pools.keys()].join(', ') || 'none'})`);
  }
  checkGlobals(input.fn);
  const lacking = plane.artifacts.missing(specArtifacts(input.fn));
  if (lacking.length > 0) throw new FlotillaError('BAD_INPUT', `everywhere: the function needs module artifact(s) the controller does not have: ${lacking.join(', ')}`, { context: { missing: lacking } });
  // Lanes that are leaving (scale-down, maxTasks) are not asked: they may be gone before it runs.
  const lanes = plane.lanesOf(poolName);
  if (lanes.length === 0) return [];
  const where: LaneWhere[] = lanes.map((l) => ({ agentId: l.agentId, host: l.hello.host, lane: l.hello.lane }));
  const job = new Job({ id: `e-${randomBytes(6).toString('hex')}`, fn: input.fn, total: lanes.length, pool: poolName, retries: 0, crashLimit: 1, timeoutMs: input.timeoutMs ?? 0 });
  job.append(0, where.map((w, i) => encodeValue(w, `lane ${i}`)));
  const results: TaskResult[] = new Array(lanes.length);
  const done = new Promise<void>((resolve, reject) => {
    let got = 0;
    job.watch(0, (_seq, batch) => {
      for (const r of batch) {
        results[r.index] = r;
        if (++got === lanes.length) resolve();
      }
    }, reject);
  });
  const onAbort = () => {
    if (!job.finished) plane.cancel(job.id);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // A closing controller re-queues nothing and finishes nothing: end the call instead of waiting.
  let onClose: () => void = () => {};
  const closed = new Promise<never>((_, reject) => {
    onClose = () => reject(new FlotillaError('CLOSED', 'the controller closed before every lane answered everywhere()'));
    if (plane.closingSignal.aborted) onClose();
    else plane.closingSignal.addEventListener('abort', onClose, { once: true });
  });
  closed.catch(() => {}); // only raced below
  try {
    plane.runPinned(job, lanes);
    await Promise.race([done, closed]);
  } finally {
    plane.closingSignal.removeEventListener('abort', onClose);
    signal?.removeEventListener('abort', onAbort);
    plane.forgetJob(job.id); // not a job anyone lists or collects later
  }
  return where.map((w, i) => ({ ...w, result: results[i]! }));
}
