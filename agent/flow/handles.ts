/**
 * Starting a flow worker, as a thread or as a process, behind one small handle. Both run the
 * agent's own file: in the bundle that is dist/agent.mjs (main.ts tells a flow worker by
 * `workerData.flowWorker` or `--flow-worker`); from source it is agent/main.ts.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FLOW_WORKER_FLAG } from './wire.js';
import type { FlowWorkerData, FromFlowWorker, ToFlowWorker } from './wire.js';

/** A running flow worker. */
export interface WorkerHandle {
  /** How the worker is named in errors, e.g. `process 4242` or `thread 7`. */
  readonly name: string;
  send(msg: ToFlowWorker): void;
  /** Ends it now: terminate() for a thread, SIGKILL for a process. */
  kill(): void;
}

/** What a handle reports. `onExit` is called once, with why the worker ended. */
export interface WorkerEvents {
  onMessage(msg: FromFlowWorker): void;
  onExit(why: { code: number | null; signal: string | null; error?: string }): void;
}

const self = import.meta.url;
/** The agent's entry file: the bundle itself, or main.ts when running from source (tsx). */
export const AGENT_ENTRY = fileURLToPath(self.endsWith('.ts') ? new URL('../main.ts', self) : self);

/** Starts a worker thread running the flow worker. */
export function startThread(ev: WorkerEvents): WorkerHandle {
  const data: FlowWorkerData = { flowWorker: true };
  const w = new Worker(AGENT_ENTRY, { workerData: data });
  let error: string | undefined;
  w.on('message', (m: FromFlowWorker) => ev.onMessage(m));
  w.on('error', (err) => {
    error ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  });
  w.on('exit', (code) => ev.onExit({ code, signal: null, ...(error ? { error } : {}) }));
  return {
    name: `thread ${w.threadId}`,
    send: (m) => w.postMessage(m),
    kill: () => void w.terminate(),
  };
}

/** Forks a child process of the agent's file running the flow worker. */
export function startProcess(ev: WorkerEvents): WorkerHandle {
  const child = fork(AGENT_ENTRY, [FLOW_WORKER_FLAG], {
    serialization: 'advanced',
    // The bundle needs no loader; from source the parent's (tsx) is needed.
    execArgv: AGENT_ENTRY.endsWith('.ts') ? process.execArgv : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let error: string | undefined;
  child.on('message', (m) => ev.onMessage(m as FromFlowWorker));
  child.on('error', (err) => {
    error ??= err.message;
  });
  child.on('exit', (code, signal) => ev.onExit({ code, signal, ...(error ? { error } : {}) }));
  return {
    name: `process ${child.pid ?? '(not started)'}`,
    send: (m) => {
      if (child.connected) child.send(m, undefined, {}, () => {});
    },
    kill: () => void child.kill('SIGKILL'),
  };
}
