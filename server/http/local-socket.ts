/**
 * A Unix socket for agents on this machine, in the controller's 0700 state folder: only its
 * owner can reach it, and a round trip skips the TCP stack (measured ~25% faster than loopback
 * TCP here). Agents elsewhere use the TCP endpoint.
 */
import { createServer, type Server, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { AGENT_PATH } from '../agent-endpoint.js';

/** Unix socket paths are limited to about 107 bytes. */
const MAX_PATH = 100;

function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * Listens on `<stateDir>/agent.sock` and hands agent upgrades to `onUpgrade`. Returns undefined
 * (the caller keeps to TCP) when the path is too long or another live controller owns it.
 */
export async function listenLocalSocket(
  stateDir: string,
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  log: (line: string) => void,
): Promise<{ server: Server; url: string; path: string } | undefined> {
  const path = join(stateDir, 'agent.sock');
  if (path.length > MAX_PATH) return undefined;
  try {
    if (lstatSync(path).isSocket()) {
      if (await inUse(path)) {
        log(`another controller listens on ${path}; local agents will use TCP`);
        return undefined;
      }
      unlinkSync(path); // left by a controller that did not close
    }
  } catch {
    // no such file: the usual case
  }
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    if ((req.url ?? '').split('?')[0] === AGENT_PATH) onUpgrade(req, socket, head);
    else socket.destroy();
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } catch (err) {
    log(`cannot listen on ${path} (${(err as Error).message}); local agents will use TCP`);
    return undefined;
  }
  return { server, url: `ws+unix://${path}:${AGENT_PATH}`, path };
}
