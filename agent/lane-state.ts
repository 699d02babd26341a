/**
 * What a lane (a worker thread with its own channel) shares with the agent's supervisor thread:
 * a few numbers in a SharedArrayBuffer, written on the hot path without messages or locks.
 * A torn read of a timestamp cannot happen for aligned 8-byte slots on the platforms Node runs on.
 */

/** Slots of one lane's status row. */
export const S = Object.freeze({
  /** Date.now() of the lane's last task activity. */
  LAST_ACTIVITY: 0,
  /** Date.now() by which the running task must finish, 0 when none is running with a timeout. */
  DEADLINE: 1,
  /** 1 while the channel is up. */
  CONNECTED: 2,
  /** Tasks running or queued in the lane. */
  BUSY: 3,
  /** The agent's resident memory (bytes) at the supervisor's last sample. */
  RSS_NOW: 4,
  /** The highest sample since the lane's running task started (the lane resets it to RSS_NOW). */
  RSS_PEAK: 5,
});
const WIDTH = 6;

/** How many lanes a status table holds. */
export function laneCount(sab: SharedArrayBuffer): number {
  return sab.byteLength / (WIDTH * Float64Array.BYTES_PER_ELEMENT);
}

/** A status table for `lanes` lanes. */
export function createLaneStatus(lanes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(lanes * WIDTH * Float64Array.BYTES_PER_ELEMENT);
}

/** One lane's row of the table. */
export function laneRow(sab: SharedArrayBuffer, lane: number): Float64Array {
  return new Float64Array(sab, lane * WIDTH * Float64Array.BYTES_PER_ELEMENT, WIDTH);
}

/** Data handed to a lane worker. */
export interface LaneData {
  lane: number;
  status: SharedArrayBuffer;
  credentials: string;
}

/** Messages from a lane to its supervisor; rare events only. */
export type LaneEvent =
  | { t: 'connected' }
  | { t: 'disconnected'; code: number; reason: string }
  /** The controller asked the agent to exit. */
  | { t: 'exit'; reason: string }
  /** The lane cannot go on (refused credentials): the agent should stop. */
  | { t: 'fatal'; reason: string }
  /** A cancelled task would not stop: replace this lane to kill it. */
  | { t: 'recycle'; reason: string }
  /** The lane's thread is dying of an uncaught error; its stack already maps shipped frames. */
  | { t: 'dying'; origin: string; error: string };
