/**
 * The agent program, bundled into one self-contained file (dist/agent.mjs) that any Node >= 20
 * runs. The main thread reads credentials and supervises; the same file runs as each lane.
 *
 *   node agent.mjs [--credentials-file FILE] [--watch-parent] [--detached]
 *   node agent.mjs --relay LISTEN_HOST:PORT --to HOST:PORT      (see relay.ts)
 *   node agent.mjs --flow-worker        (forked by a flow unit, IPC only; see flow/worker.ts)
 *
 * Without --credentials-file the first line of stdin holds the credentials; stdin then stays
 * open as a lifeline: when it closes (launcher or SSH session gone) the agent exits.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { parseCredentials, readCredentialsFile, readCredentialsLine } from './credentials.js';
import { Supervisor } from './supervisor.js';
import type { LaneData } from './lane-state.js';
import { FLOW_WORKER_FLAG } from './flow/wire.js';
import type { FlowWorkerData } from './flow/wire.js';
import { isEarlyLane, startEarlyLane } from './early-lane.js';
import type { LaneStart } from './early-lane.js';

const log = (line: string) => process.stderr.write(`[flotilla-agent ${new Date().toISOString()}] ${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'credentials-file': { type: 'string' },
      'watch-parent': { type: 'boolean', default: false },
      // Credentials still come on stdin, but its end is not a reason to exit: the agent outlives
      // the session that started it and leaves by its idle timeout, its grace period, or when told.
      detached: { type: 'boolean', default: false },
      relay: { type: 'string' },
      to: { type: 'string' },
    },
  });
  if (values.relay !== undefined) {
    if (!values.to) throw new Error('--relay needs --to HOST:PORT');
    const { runRelay } = await import('./relay.js');
    return runRelay(values.relay, values.to, log);
  }
  const file = values['credentials-file'];
  const entry = fileURLToPath(import.meta.url);
  // Credentials that may take a while (the launcher writes them once its controller is set up):
  // the first lane's thread starts meanwhile. Without them, the exit below takes it along.
  const early = file ? undefined : startEarlyLane(entry, log);
  if (early) startOpenSsl();
  const line = file ? readCredentialsFile(file) : await readCredentialsLine(process.stdin);
  const credentials = parseCredentials(line);
  const sup = new Supervisor({ credentials, credentialsLine: line, entry, watchParent: values['watch-parent'] ?? false, early, log });
  if (!file && !values.detached) {
    process.stdin.on('end', () => void sup.shutdown('stdin closed (launcher gone)', 0));
    process.stdin.on('error', () => void sup.shutdown('stdin failed (launcher gone)', 0));
    process.stdin.resume();
  } else if (values.detached) {
    process.stdin.destroy();
    process.on('SIGHUP', () => {}); // the session that started it ending is not our end
  }
  for (const sig of values.detached ? (['SIGTERM', 'SIGINT'] as const) : (['SIGTERM', 'SIGINT', 'SIGHUP'] as const)) process.on(sig, () => void sup.shutdown(`received ${sig}`, 0));
  sup.start();
  if (!early) startOpenSsl();
}

/**
 * Loads `crypto` on this thread once a lane's thread is booting. OpenSSL starts once per process,
 * on the first load of `crypto` in any thread (~10 ms; a later load in another thread takes
 * ~2 ms): here it overlaps that thread's boot instead of lying on its way to its handshake.
 */
function startOpenSsl(): void {
  createRequire(import.meta.url)('node:crypto');
}

function laneFailed(err: unknown): never {
  log(`lane failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
}

const flowWorkerFailed = (err: unknown): never => {
  log(`flow worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
};

if (isMainThread && process.argv.includes(FLOW_WORKER_FLAG)) {
  // A child process of a `within: 'process'` flow unit: rows by IPC, no credentials, no channel.
  import('./flow/worker.js').then(({ serveProcess }) => serveProcess()).catch(flowWorkerFailed);
} else if (isMainThread) {
  main().catch((err) => {
    log(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  });
} else if ((workerData as Partial<FlowWorkerData> | null)?.flowWorker === true) {
  // A worker thread of a `within: 'threads'` flow unit.
  import('./flow/worker.js').then(({ serveThread }) => serveThread()).catch(flowWorkerFailed);
} else if (isEarlyLane(workerData)) {
  // A lane thread started before the credentials came: its code loads now, it runs once told
  // which lane it is (early-lane.ts).
  const lane = import('./lane.js');
  lane.catch(() => {}); // reported when it is run
  parentPort!.once('message', ({ data, env }: LaneStart) => {
    Object.assign(process.env, env);
    lane.then(({ runLane }) => runLane(data)).catch(laneFailed);
  });
} else {
  // Loaded only in lane threads: the supervisor never pays for ws, superjson and the runner.
  // (esbuild keeps this lazy inside the single bundle file.)
  import('./lane.js').then(({ runLane }) => runLane(workerData as LaneData)).catch(laneFailed);
}
