/**
 * SLURM's words: time limits as SLURM reads them, resources as `#SBATCH` options, and the batch
 * script of an array of agents (batch/script.ts) with those lines at its head.
 */
import { FlotillaError, badInput } from '../../../contract/errors.js';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { SlurmResources } from './options.js';
import { arrayScript } from '../batch/script.js';

/** Longest time limit taken (about 190 years): beyond it a number prints in exponent form, which SLURM cannot read. */
const MAX_MINUTES = 1e8;

/** SLURM's time format from `90`, `'2h'`, `'30m'`, `'45s'`, `'1d'`, or SLURM's own text. */
export function slurmTime(t: string | number): string {
  if (typeof t === 'number') {
    if (!(t > 0 && t <= MAX_MINUTES)) badInput('resources.time', t, `a positive number of minutes, at most ${MAX_MINUTES}`);
    return String(Math.ceil(t));
  }
  const m = /^(\d{1,10}(?:\.\d{1,10})?)\s*(s|m|min|h|d)$/i.exec(t.trim());
  if (m) {
    const secs = Number(m[1]) * ({ s: 1, m: 60, min: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]!.toLowerCase()]!;
    if (!(secs > 0 && secs <= MAX_MINUTES * 60)) badInput('resources.time', t, `a positive time limit of at most ${MAX_MINUTES} minutes`);
    const d = Math.floor(secs / 86400), h = Math.floor((secs % 86400) / 3600), mi = Math.floor((secs % 3600) / 60), s = Math.ceil(secs % 60);
    return `${d > 0 ? `${d}-` : ''}${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  }
  if (/^(\d{1,6}-)?\d{1,8}(:\d{1,8}){0,2}$/.test(t.trim())) return t.trim();
  throw new FlotillaError('BAD_INPUT', `resources.time must be minutes, '2h', '30m', '1d' or SLURM's D-HH:MM:SS, got ${JSON.stringify(t)}`);
}

/** `#SBATCH` option lines for the resources, as SLURM users write them. */
export function sbatchLines(r: SlurmResources): string[] {
  const out: string[] = [];
  const add = (flag: string, v: unknown) => v !== undefined && out.push(`--${flag}=${String(v)}`);
  add('partition', r.partition);
  if (r.time !== undefined) add('time', slurmTime(r.time));
  add('mem', r.mem);
  add('mem-per-cpu', r.memPerCpu);
  add('cpus-per-task', r.cpusPerTask);
  add('nodes', r.nodes);
  add('ntasks', r.ntasks);
  add('gres', r.gres);
  add('gpus', r.gpus);
  add('account', r.account);
  add('qos', r.qos);
  add('constraint', r.constraint);
  if (r.exclusive) out.push('--exclusive');
  for (const line of r.extra ?? []) out.push(line.replace(/^#SBATCH\s+/, ''));
  for (const line of out) if (/[\n\r]/.test(line)) throw new FlotillaError('BAD_INPUT', `an #SBATCH option contains a line break: ${JSON.stringify(line)}`);
  return out;
}

/** The batch script for one array, element i running with credentials[i]. */
export function batchScript(opts: { name: string; logPattern: string; resources: SlurmResources; setup?: string; nodeCmd: string; bundle: string; credentials: AgentCredentials[] }): string {
  const header = [`--job-name=${opts.name}`, `--output=${opts.logPattern}`, ...sbatchLines(opts.resources)].map((l) => `#SBATCH ${l}`);
  return arrayScript({ header, element: { variable: 'SLURM_ARRAY_TASK_ID', first: 0 }, setup: opts.setup, nodeCmd: opts.nodeCmd, bundle: opts.bundle, credentials: opts.credentials });
}
