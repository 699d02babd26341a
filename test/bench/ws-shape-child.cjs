// The agent's shape with nothing of ours in it, for memory: a plain `node` process whose main
// thread and one worker thread each hold a `ws` connection that echoes, with `ws` loaded as the
// agent's bundle loads it (CommonJS: importing `ws` from an ES module, as the echo child does,
// holds 2-6 MiB more per thread on Node 20). Usage: node ws-shape-child.cjs URL [--worker]
'use strict';
const { Worker, isMainThread, workerData } = require('node:worker_threads');
const { WebSocket } = require('ws');

const url = isMainThread ? process.argv[2] : workerData;
const ws = new WebSocket(url, { perMessageDeflate: false });
ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
ws.on('error', (err) => {
  process.stderr.write(`shape child: ${err.message}\n`);
  process.exit(1);
});
ws.on('close', () => process.exit(0));
if (isMainThread && process.argv[3] === '--worker') new Worker(__filename, { workerData: url });
