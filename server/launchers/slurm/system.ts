/**
 * SLURM as a batch system: `sbatch --array`, `squeue`, `scontrol` for jobs that left the queue,
 * `scancel`, and `#SBATCH` header lines.
 */
import type { BatchSystem } from '../batch/system.js';
import type { PoliteOptions } from '../batch/options.js';
import { beginAt, isoLocal } from '../batch/polite.js';
import { sbatchLines } from './script.js';
import { parseJobEnd, parseQueue, parseSbatchId, RUNNING_STATES } from './status.js';
import type { SlurmResources } from './options.js';

/** What a SLURM job asks for: its resources and the pool's polite options. */
export interface SlurmRequest {
  resources: SlurmResources;
  polite: PoliteOptions;
  /** Every core of the node (`cores: 'all'`). */
  wholeNode: boolean;
}

/** The polite options as sbatch options. */
export function slurmPoliteLines(p: PoliteOptions, wholeNode = false): string[] {
  const out: string[] = [];
  if (p.begin !== undefined) out.push(`--begin=${isoLocal(beginAt(p.begin))}`);
  if (p.nice !== undefined) out.push(`--nice=${p.nice}`);
  if (p.nodelist?.length) out.push(`--nodelist=${p.nodelist.join(',')}`);
  if (p.exclude?.length) out.push(`--exclude=${p.exclude.join(',')}`);
  if (p.exclusive || wholeNode) out.push('--exclusive');
  return out;
}

export const slurm: BatchSystem<SlurmRequest> = {
  title: 'SLURM',
  kind: 'slurm',
  submitter: 'sbatch',
  element: { variable: 'SLURM_ARRAY_TASK_ID', first: 0 },
  header: ({ name, workDir, resources: r }) => {
    const lines = [`--job-name=${name}`, `--output=${workDir}/${name}-%A_%a.log`, ...sbatchLines(r.resources)];
    for (const l of slurmPoliteLines(r.polite, r.wholeNode)) if (!lines.includes(l)) lines.push(l);
    return lines.map((l) => `#SBATCH ${l}`);
  },
  submitCommand: (script, n) => `sbatch --parsable --array=0-${n - 1} ${script}`,
  parseJobId: parseSbatchId,
  transient: /Resource temporarily unavailable|Socket timed out|Unable to contact slurm controller|try again|Connection refused/i,
  elementKey: (id, i) => `${id}_${i}`,
  logPath: (workDir, name, id, i) => `${workDir}/${name}-${id}_${i}.log`,
  async queue(run, keys) {
    const ids = [...new Set(keys.map((k) => k.split('_')[0]))];
    const r = await run(`squeue -h -r -j ${ids.join(',')} -o '%i|%T'`);
    if (r.code !== 0 && !/Invalid job id/i.test(r.stderr)) throw new Error(r.stderr.trim() || `squeue: exit ${r.code}`);
    const out = new Map<string, { phase: 'queued' | 'running'; state: string }>();
    for (const [k, state] of parseQueue(r.stdout)) out.set(k, { phase: RUNNING_STATES.has(state) ? 'running' : 'queued', state });
    return out;
  },
  async ended(run, key) {
    const { state, exitCode } = parseJobEnd((await run(`scontrol -o show job ${key}`)).stdout);
    return { state, exitCode, ok: state === 'COMPLETED' };
  },
  cancelCommand: (keys) => `scancel ${keys.join(' ')}`,
};
