// The baseline's other end: a plain `node` child that dials the benchmark's ws server and echoes
// every message back unchanged. Same kind of process as an agent, with nothing of ours in it.
import { WebSocket } from 'ws';

const ws = new WebSocket(process.argv[2], { perMessageDeflate: false });
ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
ws.on('error', (err) => {
  process.stderr.write(`echo child: ${err.message}\n`);
  process.exit(1);
});
ws.on('close', () => process.exit(0));
