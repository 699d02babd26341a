/**
 * The CLI's flow commands: `flotilla flows`, `flotilla flow status|collect|cancel <id>`.
 */
import { decodeValue } from '../../contract/codec.js';
import type { CliConnection } from '../cli-client.js';
import { jsonSafe } from '../json-safe.js';
import type { FlowStatus } from '../../contract/flow-types.js';

type Trpc = CliConnection['trpc'];
const PAGE = 1000;

/** One line per stage: rows done (cached), running, queued, failed, skipped. */
export function describeFlowStatus(s: FlowStatus): string {
  const head = `${s.id}${s.name ? ` (${s.name})` : ''}  ${s.state}  ${s.rowsFinished}/${s.rows} rows finished, ${s.rowsFailed} failed  pool ${s.plan.pool}  ${s.plan.units} unit(s)${s.plan.cachedRows ? `, ${s.plan.cachedRows} row(s) all cached` : ''}${s.jobId ? `  job ${s.jobId}` : ''}`;
  const width = s.stages.reduce((w, p) => Math.max(w, p.name.length), 0);
  const lines = s.stages.map((p) => `  ${p.name.padEnd(width)}  ${p.done} done (${p.cached} cached), ${p.running} running, ${p.queued} queued, ${p.failed} failed, ${p.skipped} skipped`);
  return [head, ...lines].join('\n');
}

/** `flotilla flows`. */
export async function listFlows(trpc: Trpc, json: boolean): Promise<void> {
  const flows = await trpc.flow.list.query();
  if (json) return void console.log(JSON.stringify(flows, null, 2));
  if (flows.length === 0) console.log('no flows');
  for (const f of flows) console.log(`${f.id}  ${f.state.padEnd(11)}  ${new Date(f.createdAt).toISOString()}${f.name ? `  ${f.name}` : ''}${f.jobId ? `  job ${f.jobId}` : ''}`);
}

/** `flotilla flow status <id>`. */
export async function flowStatus(trpc: Trpc, id: string, json: boolean): Promise<void> {
  const s = await trpc.flow.status.query({ id });
  console.log(json ? JSON.stringify(s, null, 2) : describeFlowStatus(s));
}

/** `flotilla flow collect <id>`: waits for the flow to finish, then prints its rows as JSON lines. */
export async function collectFlow(trpc: Trpc, id: string): Promise<void> {
  const final = await new Promise<FlowStatus>((resolve, reject) => {
    let last: FlowStatus | undefined;
    const sub = trpc.flow.progress.subscribe({ id }, {
      onData: (s) => {
        last = s;
        if (s.state !== 'running') {
          queueMicrotask(() => sub.unsubscribe());
          resolve(s);
        }
      },
      onError: reject,
      onComplete: () => (last ? resolve(last) : reject(new Error(`the progress of flow ${id} ended before it finished`))),
    });
  });
  if (final.state === 'cancelled') throw new Error(`flow ${id} was cancelled`);
  let failed = 0;
  for (let from = 0; from < final.rows; from += PAGE) {
    const page = await trpc.flow.collect.query({ id, from, max: PAGE });
    for (const row of decodeValue(page.rows) as { status?: string }[]) {
      if (row.status !== 'ok') failed++;
      console.log(JSON.stringify(row, jsonSafe));
    }
  }
  if (failed > 0) {
    console.error(`flotilla: ${failed} of ${final.rows} row(s) of flow ${id} failed or were skipped`);
    process.exitCode = 1;
  }
}

/** `flotilla flow cancel <id>`. */
export async function cancelFlow(trpc: Trpc, id: string, json: boolean): Promise<void> {
  const r = await trpc.flow.cancel.mutate({ id });
  console.log(json ? JSON.stringify(r) : r.cancelled ? `cancelled flow ${id}` : `flow ${id} had already finished`);
}
