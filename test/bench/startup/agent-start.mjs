// Prints how long local agents take to start and connect (the agents' own start), in ms: an
// embedded controller is started, then timed until its agent slots are connected.
import { connect } from '../../../dist/client/index.js';

const agents = Number(process.argv[2] ?? 1);
const t0 = performance.now();
const fl = await connect({ pools: { local: { launcher: 'local', agents } }, waitForAgents: agents });
const agentStartMs = performance.now() - t0;
await fl.close();
console.log(JSON.stringify({ agentStartMs }));
