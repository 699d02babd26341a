/** What a task function gets as its second argument, on whatever agent runs it. */
export interface TaskContext {
  /** The task's index in its job's input. */
  index: number;
  /** 1 on the first run, higher on re-runs after a lost agent. */
  attempt: number;
  /** Aborts when the task is cancelled or times out; long async work should honour it. */
  readonly signal: AbortSignal;
  /** What the function's `setup` returned on this lane (awaited); undefined without a setup. */
  setup?: unknown;
}
