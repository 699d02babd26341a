/**
 * What a task function gets as its second argument, on whatever agent runs it. `S` is what the
 * map's `setup` resolves to (typed from the `setup` given), so `ctx.setup` needs no cast and a
 * module export typed `(row, ctx: { setup: Model })` type-checks against `{ setup: loadModel }`.
 */
export type TaskContext<S = unknown> = TaskContextBase & (unknown extends S ? {
  /** What the function's `setup` returned on this lane (awaited); undefined without a setup. */
  setup?: unknown;
} : {
  /** What the function's `setup` returned on this lane (awaited). */
  setup: S;
});

/** The part of a task's context that does not depend on its setup. */
export interface TaskContextBase {
  /** The task's index in its job's input. */
  index: number;
  /** 1 on the first run, higher on re-runs after a lost agent. */
  attempt: number;
  /** Aborts when the task is cancelled or times out; long async work should honour it. */
  readonly signal: AbortSignal;
  /**
   * Sends a partial value to the controller now, ahead of the task's result (which it always
   * precedes), for whoever follows the job there (`Job.onPartial`); it is not stored and not part
   * of the job's results. At least once: a task re-run after a lost agent emits again, so what
   * receives partials must take one seen twice in its stride. Internal-ish: flows report each
   * finished row with it. Calls after the task settled are ignored. Set by the agent's runner
   * (absent where no controller listens, e.g. a flow stage's own context).
   * @throws FlotillaError TASK_ERROR when the value cannot be encoded.
   */
  emit?(value: unknown): void;
}
