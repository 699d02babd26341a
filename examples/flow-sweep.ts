/**
 * The ridge sweep as a flow: a parameter grid (degree × standardize × 24 penalties), one module
 * stage that cross-validates each point, one inline stage that scores it, one unit per degree
 * and standardization. Run it twice: the second run answers from the flow cache without running a row.
 *
 *   npx tsx examples/flow-sweep.ts
 */
import { flow, moduleOf, paramGrid } from '../client/index.js';
import { logSpace } from './ridge-data.js';

const tasks = moduleOf<typeof import('./ridge-tasks.js')>(new URL('./ridge-tasks.ts', import.meta.url));
const grid = paramGrid({ degree: [3, 2, 1], standardize: [false, true], lambda: logSpace(1e-4, 1e3, 24) });

const t0 = performance.now();
const rows = await flow(grid, { name: 'ridge-sweep' })
  .stage('cv', tasks.cv)
  .stage('score', ({ cv }) => ({ oneSe: cv.mse + cv.sd }), { needs: ['cv'] })
  .distribute({ by: ['degree', 'standardize'] })
  .collect();
const ms = performance.now() - t0;

const failed = rows.filter((r) => r.status !== 'ok');
if (failed.length > 0) {
  console.error(`${failed.length} rows failed, e.g. ${JSON.stringify(failed[0]!.error)}`);
  process.exit(1);
}
const ok = rows.flatMap((r) => (r.status === 'ok' ? [r] : []));
const best = ok.reduce((a, b) => (b.cv.mse < a.cv.mse ? b : a));
const cached = rows.filter((r) => r.cached).length;
console.log(`${rows.length} rows in ${(ms / 1000).toFixed(2)} s (${cached} from the cache)`);
console.log(`best: degree ${best.degree}, standardize ${best.standardize}, lambda ${best.lambda.toExponential(2)}: CV MSE ${best.cv.mse.toFixed(4)} ± ${best.cv.sd.toFixed(4)}`);
