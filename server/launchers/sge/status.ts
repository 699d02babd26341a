/**
 * Readers of what Grid Engine's commands print: the job id from `qsub -terse`, the elements of
 * our jobs from `qstat -xml`, how a finished element ended from `qacct -j ID -t TASK`. The text
 * comes from another program (on another host, for a remote cluster): what does not fit is
 * skipped, never an exception, and nothing grows beyond what is given (a pending range is
 * expanded only as far as the elements asked about).
 */
import type { EndedElement, QueuedElement } from '../batch/system.js';

/** The job id `qsub -terse` printed (`1234`, or `1234.1-4:1` for an array), or undefined. */
export function parseQsubId(stdout: string): string | undefined {
  return /^(\d+)(?:\.\d+-\d+:\d+)?\s*$/.exec(stdout.trim().split('\n')[0] ?? '')?.[1];
}

/** Whether array element `task` is in qstat's task list (`'3'`, `'9,10'`, `'2-8:2'`, `'1-4:1,7'`); false for a plain job's empty list. */
export function inTaskList(list: string, task: number): boolean {
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]), to = m[2] === undefined ? from : Number(m[2]), step = Number(m[3] ?? 1) || 1;
    if (task >= from && task <= to && (task - from) % step === 0) return true;
  }
  return false;
}

/** qstat state letters of a running element (`r`, `t` transferring, `Rr` restarted; `s`/`S` suspended while running). */
const RUNNING = /^[RhdstST]*[rt][a-zA-Z]*$/;
const STATE = /^[a-zA-Z]{1,8}$/;

/**
 * Element key (`12.1`) to its phase and state, for the elements asked about (`keys`), from
 * `qstat -xml`. An element in error state (`Eqw`: it cannot start, e.g. an unwritable log
 * folder) is `failed`; a deleted one still in the list (`dr`) is running until it has gone.
 */
export function parseQstatXml(xml: string, keys: readonly string[]): Map<string, QueuedElement> {
  const wanted = new Map<string, number[]>();
  for (const k of keys) {
    const m = /^(\d+)\.(\d+)$/.exec(k);
    if (!m) continue;
    const list = wanted.get(m[1]!) ?? [];
    list.push(Number(m[2]));
    wanted.set(m[1]!, list);
  }
  const out = new Map<string, QueuedElement>();
  const tag = (block: string, name: string) => new RegExp(`<${name}>([^<]{0,200})</${name}>`).exec(block)?.[1]?.trim() ?? '';
  for (const m of xml.matchAll(/<job_list\b[^>]{0,100}>([\s\S]{0,4000}?)<\/job_list>/g)) {
    const block = m[1]!;
    const job = tag(block, 'JB_job_number');
    const tasks = wanted.get(job);
    const state = tag(block, 'state');
    if (!tasks || !STATE.test(state)) continue;
    const list = tag(block, 'tasks');
    const phase = state.includes('E') ? 'failed' : RUNNING.test(state) ? 'running' : 'queued';
    for (const t of tasks) if (list === '' ? t === 1 : inTaskList(list, t)) out.set(`${job}.${t}`, { phase, state });
  }
  return out;
}

/**
 * How an element ended, from `qacct -j ID -t TASK` (its last record: a job id may be reused
 * after a cold restart); undefined when there is no record (yet: the accounting is written ~1 s
 * after the end; or never: accounting off).
 */
export function parseQacct(stdout: string): EndedElement | undefined {
  const records = stdout.split(/^={10,}\s*$/m).filter((r) => /^exit_status\s/m.test(r));
  const last = records.at(-1);
  if (!last) return undefined;
  const failedLine = /^failed\s+(\d+)\s*(?::\s*(.*))?$/m.exec(last);
  const failed = Number(failedLine?.[1] ?? 0);
  const why = failedLine?.[2]?.trim() ?? '';
  const code = Number(/^exit_status\s+(\d+)/m.exec(last)?.[1] ?? 0);
  const exitCode = code <= 255 ? code : 255;
  if (failed === 0 && exitCode === 0) return { state: 'COMPLETED', exitCode: 0, ok: true };
  if (failed === 0) return { state: exitCode === 137 ? 'KILLED' : 'FAILED', exitCode, ok: false };
  // 37: the qmaster enforced h_rt, h_cpu or h_vmem; 100 with 137: deleted (qdel) while running.
  if (failed === 37 || /h_rt|h_cpu|h_vmem/.test(why)) return { state: /h_vmem/.test(why) && !/h_rt/.test(why) ? 'OUT_OF_MEMORY' : 'TIMEOUT', exitCode, ok: false };
  if (failed === 100 && exitCode === 137) return { state: 'CANCELLED', exitCode, ok: false };
  return { state: `FAILED(${failed}${why ? `: ${why.slice(0, 80)}` : ''})`, exitCode, ok: false };
}
