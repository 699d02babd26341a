/**
 * The relay: `node agent.mjs --relay LISTEN_HOST:PORT --to HOST:PORT`. Started on a login node,
 * it listens where compute nodes can reach it and pipes each connection to the SSH tunnel's port
 * on the login node's loopback. It only moves bytes: the agent channel inside is sealed end to
 * end, so the relay can neither read nor forge anything. It prints `relay listening on
 * HOST:PORT` once bound (PORT 0 picks one), and exits when its stdin closes.
 */
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';

function hostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new Error(`${what} must be HOST:PORT, got ${JSON.stringify(s)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export function runRelay(listenSpec: string, toSpec: string, log: (line: string) => void): void {
  const listen = hostPort(listenSpec, '--relay');
  const to = hostPort(toSpec, '--to');
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(to.port, to.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
    }
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  server.on('error', (err) => {
    log(`relay cannot listen on ${listenSpec}: ${err.message}`);
    process.exit(2);
  });
  server.listen(listen.port, listen.host, () => {
    const a = server.address() as import('node:net').AddressInfo;
    process.stdout.write(`relay listening on ${a.address}:${a.port}\n`);
  });
  const stop = () => {
    server.close();
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, stop);
}
