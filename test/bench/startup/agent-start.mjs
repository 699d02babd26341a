// Prints how long local agents take to start and connect (the agents' own start), in ms: an
// embedded controller is started, then timed until its agent slots are connected.
//   node agent-start.mjs AGENTS [loaded]
// `loaded`: the controller's code (dist/server/, with the whole of zod) is loaded before the
// clock starts, so what is timed is the agents' start and the controller's setup, not the loading
// of code (which a cold connect() overlaps with the agents' start).
import { connect } from '../../../dist/client/index.js';

const agents = Number(process.argv[2] ?? 1);
if (process.argv[3] === 'loaded') await import('../../../dist/server/index.js');
const t0 = performance.now();
const fl = await connect({ pools: { local: { launcher: 'local', agents } }, waitForAgents: agents });
const agentStartMs = performance.now() - t0;
await fl.close();
console.log(JSON.stringify({ agentStartMs }));
