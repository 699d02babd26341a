/**
 * What every result stream to a client shares: how much one event carries, the socket's
 * high-water mark it waits under (backpressure), and the jobs a socket is still sending
 * arguments for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import type { TaskResult } from '../contract/job-types.js';
import type { ControlPlane } from './control-plane.js';

/** Results per stream event, at most... */
export const BATCH = 2048;
/** ...and about this many bytes, so one event cannot be a large allocation on its own. */
export const BATCH_BYTES = 1024 * 1024;
/** Above this many unsent bytes to a client, the result stream waits. */
export const HIGH_WATER = 4 * 1024 * 1024;

/** A cheap guess at a result's size on the wire: binary parts exactly, JSON roughly. */
export function estimate(r: TaskResult): number {
  if (!r.ok) return 512 + (r.error.stack?.length ?? 0);
  let n = typeof r.value.j === 'string' ? r.value.j.length : 64;
  if (r.value.b) for (const b of r.value.b) n += b.byteLength * 1.34; // base64 on this link
  return n;
}

/** The first results of `results` that make one event: up to BATCH of them, about BATCH_BYTES. */
export function batchLength(results: TaskResult[]): number {
  let n = 0;
  let bytes = 0;
  while (n < results.length && (bytes < BATCH_BYTES || n === 0)) bytes += estimate(results[n++]!);
  return n;
}

/** Waits while the client's socket holds more than HIGH_WATER unsent bytes. */
export async function drained(ws: WebSocket | undefined, signal: AbortSignal | undefined): Promise<void> {
  while (ws && ws.bufferedAmount > HIGH_WATER && ws.readyState === ws.OPEN && !signal?.aborted) {
    await sleep(5);
  }
}

/** Jobs each client socket is still sending arguments for: one close listener per socket. */
const submitting = new WeakMap<WebSocket, Set<string>>();

/** The jobs `ws` is still sending arguments for; they are abandoned (run what they have) if it closes. */
export function submittingOn(ws: WebSocket, plane: ControlPlane): Set<string> {
  let jobs = submitting.get(ws);
  if (!jobs) {
    const set = (jobs = new Set());
    submitting.set(ws, set);
    ws.once('close', () => set.forEach((id) => plane.abandonSubmission(id, 'the submitting client disconnected')));
  }
  return jobs;
}

/** Notes that `ws` has sent every argument of `jobId`. */
export function submitted(ws: WebSocket, jobId: string): void {
  submitting.get(ws)?.delete(jobId);
}
