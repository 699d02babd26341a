/**
 * Grid Engine (SGE, Son of Grid Engine, UGE/AGE in their common part) as a batch system:
 * `qsub -t` arrays, `qstat -xml`, `qacct` for elements that left the queue, `qdel`, and `#$`
 * header lines. Elements are numbered from 1 (`SGE_TASK_ID`); an element is `JOB.TASK`.
 */
import type { BatchSystem } from '../batch/system.js';
import type { PoliteOptions } from '../batch/options.js';
import { qsubLines, sgePoliteLines } from './script.js';
import { parseQacct, parseQstatXml, parseQsubId } from './status.js';
import type { SgeResources } from './options.js';

/** What a Grid Engine job asks for: its resources and the pool's polite options. */
export interface SgeRequest {
  resources: SgeResources;
  polite: PoliteOptions;
}

export const sge: BatchSystem<SgeRequest> = {
  title: 'Grid Engine',
  kind: 'sge',
  submitter: 'qsub',
  element: { variable: 'SGE_TASK_ID', first: 1 },
  header: ({ name, workDir, resources: r }) =>
    [
      `-N ${name}`,
      `-o ${workDir}/${name}-$JOB_ID.$TASK_ID.log`,
      '-j y',
      // The script's own shell, not the queue's (/bin/sh by default, whatever the #! line says).
      '-S /bin/bash',
      // A request no queue can ever meet is refused at submission instead of waiting for ever.
      '-w e',
      ...qsubLines(r.resources),
      ...sgePoliteLines(r.polite),
    ].map((l) => `#$ ${l}`),
  submitCommand: (script, n) => `qsub -terse -t 1-${n} ${script}`,
  parseJobId: parseQsubId,
  transient: /unable to contact qmaster|can't connect|got no connection|failed receiving gdi request|commlib error|try again|timeout/i,
  elementKey: (id, i) => `${id}.${i + 1}`,
  logPath: (workDir, name, id, i) => `${workDir}/${name}-${id}.${i + 1}.log`,
  async queue(run, keys) {
    // Only the caller's jobs, which ours are (whoever submits them here also queries).
    const r = await run('qstat -xml');
    if (r.code !== 0) throw new Error(r.stderr.trim() || `qstat: exit ${r.code}`);
    return parseQstatXml(r.stdout, keys);
  },
  async ended(run, key) {
    const [id, task] = key.split('.');
    const r = await run(`qacct -j ${id} -t ${task}`);
    return r.code === 0 ? parseQacct(r.stdout) : undefined;
  },
  cancelCommand: (keys) => keys.map((k) => (k.includes('.') ? `qdel ${k.split('.')[0]} -t ${k.split('.')[1]}` : `qdel ${k}`)).join('; '),
};

