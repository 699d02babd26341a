/**
 * One error class for every layer, with a typed `code` and the context of the failure.
 * Lives in the protocol folder because agent, controller and client all raise and carry it.
 */

/** What went wrong, in words a caller can switch on. */
export type FlotillaErrorCode =
  /** An option, argument or function that cannot be used as given. */
  | 'BAD_INPUT'
  /** The caller did not prove who it is (token, agent key). */
  | 'UNAUTHORIZED'
  /** The user's function threw or rejected. */
  | 'TASK_ERROR'
  /** A function's per-agent `setup` threw: every task that needs it fails with its error. */
  | 'SETUP_FAILED'
  /** A command stage exited non-zero or could not be started. */
  | 'COMMAND_FAILED'
  /** A flow row was not run because a stage it needs failed. */
  | 'SKIPPED'
  /** An artifact cannot run on the agent (Node too old for its syntax, a missing dependency), or a state file was written by a newer flotilla. */
  | 'VERSION_SKEW'
  /** A task ran past its `timeoutMs`. */
  | 'TIMEOUT'
  /** The job or task was cancelled, or its `signal` aborted. */
  | 'CANCELLED'
  /** The agent running the task went away (crash, SIGKILL, lost connection). */
  | 'AGENT_LOST'
  /** The task was running on `crashLimit` agents that died: it is taken to be what kills them. */
  | 'POISONOUS'
  /** The secure channel failed: handshake, authentication, a frame that does not open. */
  | 'CHANNEL'
  /** A launcher could not start an agent: host unreachable or refusing, no usable Node there. */
  | 'LAUNCH_FAILED'
  /** A job, task or agent id that the controller does not know. */
  | 'NOT_FOUND'
  /** The session or controller was closed. */
  | 'CLOSED'
  /** A bug or an unexpected condition inside flotilla. */
  | 'INTERNAL';

/** Which failures are worth another attempt by default: a lost agent is, a user's exception is not. */
export const RETRYABLE: Readonly<Record<FlotillaErrorCode, boolean>> = Object.freeze({
  BAD_INPUT: false,
  UNAUTHORIZED: false,
  TASK_ERROR: false,
  SETUP_FAILED: false,
  COMMAND_FAILED: false,
  SKIPPED: false,
  VERSION_SKEW: false,
  TIMEOUT: false,
  CANCELLED: false,
  AGENT_LOST: true,
  POISONOUS: false,
  CHANNEL: true,
  LAUNCH_FAILED: false,
  NOT_FOUND: false,
  CLOSED: false,
  INTERNAL: false,
});

/** Where a failure happened. Every field is optional: each layer adds what it knows. */
export interface ErrorContext {
  jobId?: string;
  taskIndex?: number;
  attempt?: number;
  pool?: string;
  agentId?: string;
  host?: string;
  pid?: number;
  durationMs?: number;
  timedOut?: boolean;
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string;
  [key: string]: unknown;
}

/**
 * What an error asks of the part that handles it, besides being reported: a typed field, not a
 * context key, so no handler depends on a key that another part may rename or a user may set.
 */
export type ErrorAction =
  /** The map's `retryIf` accepted the task's error (on the agent): run the task again while retries remain. */
  | 'retry'
  /** A lane's preparation (an import, a setup) ran past its limit: replace the lane once its other work is done. */
  | 'replace-lane'
  /** A launch failure that launching again will not fix: the pool gives up at once. */
  | 'give-up'
  /** This host cannot run agents (no usable Node, no POSIX shell): set it aside. */
  | 'set-host-aside';

/** Every ErrorAction, to check one that arrives from another process. */
export const ERROR_ACTIONS: readonly ErrorAction[] = ['retry', 'replace-lane', 'give-up', 'set-host-aside'];

/** The plain shape of an error as it travels between processes. */
export interface ErrorInfo {
  code: FlotillaErrorCode;
  message: string;
  /** The user's error class name, e.g. `RangeError`. */
  name?: string;
  /** The stack as the agent saw it. */
  stack?: string;
  context?: ErrorContext;
  /** The own properties of the user's error (`code`, `detail`...), as JSON values. */
  props?: Record<string, unknown>;
  /** @internal What the error asks of the controller (agent -> controller). */
  action?: ErrorAction;
}

/** The error every flotilla API throws or returns. */
export class FlotillaError extends Error {
  override readonly name = 'FlotillaError';
  readonly code: FlotillaErrorCode;
  readonly context: ErrorContext;
  /** The name of the user's original error class, when there was one. */
  readonly remoteName: string | undefined;
  /**
   * The own properties of the error the user's code threw (e.g. its `code` or `detail`), as JSON
   * values; `code` here is flotilla's, so the user's own `code` is `props.code`.
   */
  readonly props: Record<string, unknown> | undefined;
  /**
   * @internal What this error asks of the part that handles it. An error made with a `cause`
   * keeps its cause's action unless given one: a wrapped error asks the same.
   */
  readonly action: ErrorAction | undefined;

  constructor(code: FlotillaErrorCode, message: string, opts: { cause?: unknown; context?: ErrorContext; remoteName?: string; stack?: string; props?: Record<string, unknown>; action?: ErrorAction } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.context = opts.context ?? {};
    this.action = opts.action ?? (opts.cause instanceof FlotillaError ? opts.cause.action : undefined);
    this.remoteName = opts.remoteName;
    this.props = opts.props;
    if (opts.stack) this.stack = opts.stack;
  }

  /** Whether the default retry policy gives this failure another attempt. */
  get retryable(): boolean {
    return RETRYABLE[this.code];
  }

  /** The wire shape of this error. */
  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message, name: this.remoteName ?? this.name, stack: this.stack, context: this.context };
    if (this.props) info.props = this.props;
    if (this.action) info.action = this.action;
    return info;
  }

  /** Rebuilds an error received from another process. */
  static fromInfo(info: ErrorInfo): FlotillaError {
    return new FlotillaError(info.code, info.message, { context: info.context, remoteName: info.name, stack: info.stack, props: info.props, action: info.action });
  }

  /** Converts anything thrown into a FlotillaError once, at a boundary. */
  static from(err: unknown, code: FlotillaErrorCode = 'INTERNAL', context?: ErrorContext): FlotillaError {
    if (err instanceof FlotillaError) return err;
    if (err instanceof Error) return new FlotillaError(code, err.message, { cause: err, context, remoteName: err.name, stack: err.stack, props: errorProps(err) });
    return new FlotillaError(code, String(err), { context });
  }
}

/** Throws a BAD_INPUT error naming the option and the value it got. */
export function badInput(what: string, got: unknown, expected: string): never {
  let shown: string;
  try {
    shown = typeof got === 'string' ? JSON.stringify(got) : typeof got === 'function' ? 'a function' : String(JSON.stringify(got) ?? got);
  } catch {
    shown = Object.prototype.toString.call(got);
  }
  throw new FlotillaError('BAD_INPUT', `${what} must be ${expected}, got ${shown}`);
}

/** Most bytes of JSON an error's own properties may take on the wire. */
const PROPS_MAX_BYTES = 16 * 1024;

/**
 * The own enumerable properties of an error (`err.code`, `err.detail`...) that are JSON values,
 * so they survive the trip from the agent; undefined when there are none.
 */
export function errorProps(err: object): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  let bytes = 0;
  for (const key of Object.keys(err)) {
    if (key === 'stack' || key === 'message') continue;
    let json: string | undefined;
    try {
      json = JSON.stringify((err as Record<string, unknown>)[key]);
    } catch {
      continue; // a cycle or a BigInt: not a JSON value
    }
    if (json === undefined || (bytes += json.length) > PROPS_MAX_BYTES) continue;
    (out ??= {})[key] = JSON.parse(json);
  }
  return out;
}
