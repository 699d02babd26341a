/**
 * A lane's channel without an agent: an in-memory object with what a Lane uses of its
 * SecureChannel (send, close, isOpen, onmessage, onclose), that runs the tasks sent to it one at
 * a time, as a real lane does, and answers each as the test's script says. Time is the timers'
 * (vitest fake timers): a task of `ms` answers `ms` later, plus the channel's latency.
 */
import type { SecureChannel } from '../../../agent/protocol/channel.js';
import { decodeValue, encodeValue } from '../../../contract/codec.js';
import type { FlotillaErrorCode, ErrorInfo } from '../../../contract/errors.js';
import { packEncoded, unpackEncoded } from '../../../contract/messages.js';
import type { ToAgent, ToController, WireResult, WireTask } from '../../../contract/messages.js';

/** A task as the fake agent got it. */
export interface FakeTask {
  run: number;
  index: number;
  attempt: number;
  timeoutMs: number;
  /** Its argument, decoded. */
  arg: unknown;
}

/** How the fake agent answers one task. */
export type Answer =
  /** Returns `ok` after `ms` (default 1). */
  | { ok: unknown; ms?: number }
  /** Throws after `ms` (default 1); `retry`: the job's retryIf accepted the error. */
  | { error: string; code?: FlotillaErrorCode; retry?: boolean; ms?: number }
  /** The agent dies `ms` (default 1) into the task: its connection drops without a word. */
  | { crash: string; ms?: number }
  /** Runs until the test calls `finish` or a cancel aborts it. */
  | { hold: true }
  /** Never answers and cannot be aborted: code that never yields. */
  | { never: true };

/** What the test's script says for each task. */
export type Script = (task: FakeTask) => Answer;

interface Running {
  task: FakeTask;
  answer: Answer;
  timer?: ReturnType<typeof setTimeout>;
}

/** What a Lane and the scheduler use of a SecureChannel. */
type ChannelPart = 'send' | 'prepare' | 'close' | 'isOpen' | 'onmessage' | 'onclose';

export class FakeLaneChannel implements Pick<SecureChannel, ChannelPart> {
  onmessage: ((msg: any, bins: Buffer[]) => void) | undefined;
  onclose: ((code: number, reason: string) => void) | undefined;
  /** Every message the controller sent, in order. */
  readonly sent: ToAgent[] = [];
  /** Tasks received and not yet started, in order. */
  readonly queued: FakeTask[] = [];
  /** Every task it started, in order. */
  readonly started: FakeTask[] = [];
  private running: Running | undefined;
  private open = true;
  /** Set by `freeze`: the agent takes frames in but starts and answers nothing. */
  private frozen = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly script: Script,
    /** Milliseconds each frame to the controller takes on the way. */
    private readonly latencyMs = 0,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** No cipher to make ahead in memory. */
  prepare(): void {}

  /** Tasks in the lane: running and queued behind it. */
  get holding(): number {
    return this.queued.length + (this.running ? 1 : 0);
  }

  /** The task running now, if any. */
  get current(): FakeTask | undefined {
    return this.running?.task;
  }

  send<M extends { t: string }>(m: M, bins: readonly Uint8Array[] = []): void {
    if (!this.open) return;
    const msg = m as unknown as ToAgent;
    this.sent.push(msg);
    if (msg.t === 'run') {
      for (const t of msg.tasks) this.queued.push(this.task(t, bins));
      this.next();
    } else if (msg.t === 'cancel') {
      this.cancel(msg.runs);
    }
  }

  /** The controller closed the connection: the agent hears it, as a socket's close event, a moment later. */
  close(code = 1000, reason = ''): void {
    if (!this.open) return;
    this.stop();
    queueMicrotask(() => this.onclose?.(code, reason));
  }

  /** The agent went away: its connection drops (1006, no close frame). */
  drop(why = 'connection lost'): void {
    if (!this.open) return;
    this.stop();
    this.onclose?.(1006, why);
  }

  /** The agent freezes (a stopped process, a wedged event loop): it starts and answers nothing from now on. */
  freeze(): void {
    this.frozen = true;
  }

  /** Answers the held task `run` now. */
  finish(run: number, answer: Answer = { ok: null }): void {
    if (this.running?.task.run !== run) throw new Error(`run ${run} is not running on this lane`);
    this.complete(answer);
  }

  /** A frame from the agent, as is (a duplicate, a late or a malformed one). */
  receive(msg: ToController, bins: Buffer[] = []): void {
    this.onmessage?.(msg, bins);
  }

  /** The result tuple an agent sends for `task`. */
  static result(task: Pick<FakeTask, 'run'>, answer: { ok: unknown } | { error: string; code?: FlotillaErrorCode; retry?: boolean }, ms = 1): WireResult {
    if ('ok' in answer) return [task.run, 1, packEncoded(encodeValue(answer.ok), []), ms * 1000];
    const error: ErrorInfo = { code: answer.code ?? 'TASK_ERROR', message: answer.error, ...(answer.retry ? { action: 'retry' } : {}) };
    return [task.run, 0, error, ms * 1000];
  }

  private task(t: WireTask, bins: readonly Uint8Array[]): FakeTask {
    const [run, , arg, timeoutMs, index, attempt] = t;
    return { run, index, attempt, timeoutMs, arg: decodeValue(unpackEncoded(arg, bins)) };
  }

  /** Starts the next queued task if the slot is free. */
  private next(): void {
    if (this.running || !this.open || this.frozen) return;
    const task = this.queued.shift();
    if (!task) return;
    this.started.push(task);
    const answer = this.script(task);
    const r: Running = { task, answer };
    this.running = r;
    // An agent reports the start of a task with a timeout: the controller's clock counts from it.
    if (task.timeoutMs > 0) this.deliver({ t: 'res', r: [], s: task.run });
    if ('hold' in answer || 'never' in answer) return;
    r.timer = this.later(answer.ms ?? 1, () => ('crash' in answer ? this.drop(answer.crash) : this.complete(answer)));
  }

  private complete(answer: Answer): void {
    const r = this.running!;
    this.running = undefined;
    if (r.timer) this.clear(r.timer);
    const ms = 'ms' in answer && answer.ms !== undefined ? answer.ms : 1;
    if ('ok' in answer || 'error' in answer) this.deliver({ t: 'res', r: [FakeLaneChannel.result(r.task, answer, ms)] });
    this.next();
  }

  /** Aborts runs, as an agent does: each one aborted answers CANCELLED once it has left the slot. */
  private cancel(runs: number[]): void {
    for (const run of runs) {
      const i = this.queued.findIndex((t) => t.run === run);
      if (i >= 0) {
        const [task] = this.queued.splice(i, 1);
        this.deliver({ t: 'res', r: [FakeLaneChannel.result(task!, { error: 'aborted', code: 'CANCELLED' }, 0)] });
      } else if (this.running?.task.run === run && !('never' in this.running.answer)) {
        this.complete({ error: 'aborted', code: 'CANCELLED', ms: 0 });
      }
    }
  }

  private deliver(msg: ToController): void {
    if (this.frozen) return;
    this.later(this.latencyMs, () => this.open && !this.frozen && this.onmessage?.(msg, []));
  }

  private later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private clear(timer: ReturnType<typeof setTimeout>): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  private stop(): void {
    this.open = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.running = undefined;
    this.queued.length = 0;
  }
}
