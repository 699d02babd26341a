/**
 * The README's flow, runnable on this machine: a subject × session × condition grid through two
 * function stages and a command stage, one unit per subject running 2 rows at once.
 *
 *   npx tsx examples/flow-subjects.ts
 *
 * What it needs: a unit that runs `workersWithin: 2` rows at once requires a slot of 2 cores.
 * The default local pool gives each slot one core (the machine's cores over its agents), so
 * this program starts its own local pool whose slots offer 2 cores. On SLURM, such a unit gets
 * a job with `--cpus-per-task=2` from a pool whose `resources.cpusPerTask` is 2.
 */
import { connect, paramGrid } from '../client/index.js';

const grid = paramGrid({ subject: ['s01', 's02', 's03'], session: [1, 2], condition: ['A', 'B'] }); // 12 rows
const load = (subject: string, session: number) => Array.from({ length: 100 }, (_, i) => (i * session + subject.length) % 7);
const fit = (data: number[], condition: string) => data.reduce((a, b) => a + b, 0) / data.length + (condition === 'A' ? 0 : 1);

const fl = await connect({ pools: { local: { launcher: 'local', agents: 2, cores: 2 } } });
try {
  const rows = await fl
    .flow(grid, { name: 'subjects' })
    .stage('pre', ({ subject, session }) => ({ data: load(subject, session) }), { globals: { load } })
    .stage('fit', ({ pre, condition }) => ({ score: fit(pre.data, condition) }), { needs: ['pre'], globals: { fit } })
    .command('report', [process.execPath, '-e', 'console.log(process.argv[1] + " " + process.argv[2])', '{subject}', '{fit.score}'], { needs: ['fit'] })
    .distribute({ by: ['subject'], workersWithin: 2 })
    .collect({ progress: false });
  const failed = rows.filter((r) => r.status !== 'ok');
  if (failed.length > 0) throw new Error(`${failed.length} rows failed, e.g. ${JSON.stringify(failed[0]!.error)}`);
  for (const r of rows) if (r.status === 'ok') console.log(`${r.subject} session ${r.session} ${r.condition}: ${r.fit.score.toFixed(3)} (${r.report.stdout.trim()})`);
} finally {
  await fl.close();
}
