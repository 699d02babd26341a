// The trivial script: one clusterMap on local agents, from process start to exit.
import { clusterMap } from '../../../dist/client/index.js';

const out = await clusterMap([1, 2, 3], (x) => x * x);
if (out.join() !== '1,4,9') throw new Error(`unexpected ${out}`);
