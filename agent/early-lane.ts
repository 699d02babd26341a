/**
 * A lane thread started while the agent still waits for its credentials. A thread's start (a
 * second Node instance that compiles this bundle again, then the lane's code) is most of an
 * agent's time from credentials to its first task, and the credentials of an agent started
 * ahead of its controller come only once that controller has loaded and set up: starting the
 * thread first overlaps the two. The thread loads the lane's code and waits to be told which
 * lane it is (main.ts); the supervisor makes it its first lane. An agent whose credentials never
 * come exits as before (process.exit), and its waiting thread with it.
 */
import { Worker } from 'node:worker_threads';
import type { LaneData } from './lane-state.js';

/** The workerData of a lane thread started before its credentials. */
export interface EarlyLaneData {
  earlyLane: true;
}

/** The one message an early lane thread waits for: which lane it is, and the lane's environment. */
export interface LaneStart {
  data: LaneData;
  env: NodeJS.ProcessEnv;
}

/** Whether a thread's workerData is that of an early lane. */
export function isEarlyLane(data: unknown): data is EarlyLaneData {
  return (data as Partial<EarlyLaneData> | null)?.earlyLane === true;
}

/** An early lane thread, or none where one cannot start now: the supervisor's own start then says why. */
export function startEarlyLane(entry: string, log: (line: string) => void): EarlyLane | undefined {
  try {
    return new EarlyLane(entry, log);
  } catch {
    return undefined;
  }
}

/** The first lane's thread, started before the credentials; the supervisor takes it once they come. */
export class EarlyLane {
  /** The thread's id: the lane it becomes reports it to the controller. */
  readonly threadId: number;
  private worker: Worker | undefined;
  private readonly forward = (chunk: Buffer) => process.stderr.write(chunk);
  private readonly onError: (err: Error) => void;

  /** Starts the thread running `entry` (this bundle); `log` hears of it dying before it is taken. */
  constructor(entry: string, log: (line: string) => void) {
    const w = new Worker(entry, { workerData: { earlyLane: true } satisfies EarlyLaneData, stderr: true });
    this.worker = w;
    this.threadId = w.threadId;
    this.onError = (err) => log(`lane thread started ahead failed: ${err.stack ?? err.message}`);
    w.stderr.on('data', this.forward);
    w.on('error', this.onError);
    // One that died waiting is not handed out: the supervisor starts a fresh lane instead.
    w.once('exit', () => {
      if (this.worker === w) this.worker = undefined;
    });
  }

  /**
   * The thread, now the caller's, told to run as `start.data.lane` with `start.env`; undefined
   * if it already ended (or was taken). Its stderr and errors are the caller's from here on.
   */
  take(start: LaneStart): Worker | undefined {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return undefined;
    w.stderr.off('data', this.forward);
    w.off('error', this.onError);
    w.postMessage(start);
    return w;
  }
}
