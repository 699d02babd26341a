// The baseline's other end: a plain `node` child that dials the benchmark's ws server and echoes
// every message back unchanged. Same kind of process as an agent, with nothing of ours in it.
// With `--worker` it also starts one worker thread that does the same on its own connection: the
// shape of a 1-slot agent (a main thread and a lane thread, each holding a socket), for memory.
import { WebSocket } from 'ws';
import { Worker, isMainThread } from 'node:worker_threads';

const ws = new WebSocket(process.argv[2], { perMessageDeflate: false });
ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
ws.on('error', (err) => {
  process.stderr.write(`echo child: ${err.message}\n`);
  process.exit(1);
});
ws.on('close', () => process.exit(0));
if (isMainThread && process.argv[3] === '--worker') new Worker(new URL(import.meta.url), { argv: [process.argv[2]] });
