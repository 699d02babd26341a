/**
 * Starting one agent over a ready SSH connection: attached (an exec channel whose stdin carries
 * the credentials and then stays open as the agent's lifeline, so it ends with the session) or
 * detached (it outlives the session: watched by pid over this connection and the next ones).
 */
import { FlotillaError } from '../../../contract/errors.js';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { AgentExit, AgentHandle } from '../launcher.js';
import type { Prepared } from '../remote/host.js';
import { StderrTail } from '../stderr-tail.js';

/** Starts the agent on an exec channel; its credentials go in on stdin, which stays open. */
export function startAttached(
  spec: string,
  p: Prepared,
  credentials: AgentCredentials,
  onLog: ((agentId: string, line: string) => void) | undefined,
  onGone: () => void,
): Promise<AgentHandle> {
  return new Promise((resolve, reject) => {
    p.client.exec(`${p.setup}exec ${p.nodeBin} "$HOME/${p.bundle}"`, (err, ch) => {
      if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${spec}: cannot start the agent: ${err.message}`, { cause: err }));
      const tail = new StderrTail(onLog && ((line) => onLog(credentials.agentId, line)));
      let exitCode: number | null = null;
      let signal: string | null = null;
      ch.stderr.on('data', (d: Buffer) => tail.push(d));
      ch.on('data', () => {}); // stdout is not used; keep the window open
      ch.on('exit', (code: number | null, sig?: string) => {
        exitCode = code;
        signal = sig ? `SIG${sig}` : null;
      });
      ch.on('error', () => {});
      let connectionLost = false;
      const onClientClose = () => (connectionLost = true);
      p.client.once('close', onClientClose);
      const exited = new Promise<AgentExit>((res) =>
        ch.once('close', () => {
          p.client.off('close', onClientClose);
          onGone();
          tail.end();
          res({ exitCode, signal, stderrTail: tail.tail, lostConnection: connectionLost || (exitCode === null && signal === null) });
        }),
      );
      ch.write(JSON.stringify({ ...credentials, url: p.agentUrl }) + '\n');
      const stop = async (graceMs = 2000) => {
        ch.end(); // stdin EOF: the agent's lifeline is cut and it exits
        const t = setTimeout(() => {
          ch.signal('KILL');
          ch.close();
        }, graceMs);
        await exited;
        clearTimeout(t);
      };
      resolve({ agentId: credentials.agentId, host: spec, pid: undefined, exited, stop, runtime: p.runtime });
    });
  });
}

/** What a detached start needs from its host beyond the connection. */
export interface DetachedHost {
  spec: string;
  /** Exits of detached agents by pid, settled when the process is seen gone. */
  detached: Map<number, (exit: AgentExit) => void>;
  /** Whether the connection this start used is still the open one. */
  connected(): boolean;
  /** Runs a command whose result does not matter (a kill), over the current connection. */
  runQuiet(cmd: string): Promise<void>;
  onGone(): void;
}

/**
 * Starts an agent that outlives the SSH session: credentials on stdin as usual, then the agent
 * ignores its end; its output goes to a log beside the bundle. stop() kills it by pid.
 */
export function startDetached(host: DetachedHost, p: Prepared, credentials: AgentCredentials): Promise<AgentHandle> {
  const log = `${p.bundle.slice(0, p.bundle.lastIndexOf('/'))}/${credentials.agentId}.log`;
  return new Promise((resolve, reject) => {
    p.client.exec(`echo $$; ${p.setup}exec nohup ${p.nodeBin} "$HOME/${p.bundle}" --detached >>"$HOME/${log}" 2>&1`, (err, ch) => {
      if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${host.spec}: cannot start the agent: ${err.message}`, { cause: err }));
      let out = '';
      ch.on('error', () => {});
      ch.stderr.on('data', () => {});
      ch.on('data', (d: Buffer) => {
        out += d;
        const m = /^(\d+)\n/.exec(out);
        if (!m || host.detached.has(Number(m[1]))) return;
        const pid = Number(m[1]);
        const exited = new Promise<AgentExit>((res) =>
          host.detached.set(pid, (exit) => {
            host.onGone();
            res(exit);
          }),
        );
        // Over this connection, the channel closing is the process ending.
        ch.on('exit', (code: number | null) => {
          const done = host.detached.get(pid);
          if (!done || !host.connected()) return;
          host.detached.delete(pid);
          done({ exitCode: code, signal: null, stderrTail: '' });
        });
        const stop = async (graceMs = 2000) => {
          if (!host.detached.has(pid)) return;
          await host.runQuiet(`kill -TERM ${pid} 2>/dev/null`);
          const t = setTimeout(() => void host.runQuiet(`kill -KILL ${pid} 2>/dev/null`), graceMs);
          t.unref();
          await exited;
          clearTimeout(t);
        };
        resolve({ agentId: credentials.agentId, host: host.spec, pid, exited, stop, runtime: p.runtime });
      });
      ch.write(JSON.stringify({ ...credentials, url: p.agentUrl }) + '\n');
      ch.end();
    });
  });
}

/** Settles a detached agent's exit when its process is gone (seen over the connection `p`). */
export function watchDetached(host: DetachedHost, p: Prepared, pid: number): void {
  p.client.exec(`while kill -0 ${pid} 2>/dev/null; do sleep 1; done`, (err, ch) => {
    if (err) return;
    ch.on('data', () => {});
    ch.on('close', () => {
      if (!host.connected()) return; // the connection went: the next one watches again
      const done = host.detached.get(pid);
      host.detached.delete(pid);
      done?.({ exitCode: null, signal: null, stderrTail: '' });
    });
  });
}
