/**
 * Command stages: an argv template filled from the row, run without a shell, its exit code and
 * the tails of its output kept. A failure says which command, how it ended and the last line it
 * wrote to stderr, because that line is nearly always the reason.
 */
import { spawn } from 'node:child_process';
import { FlotillaError } from '../../contract/errors.js';
import type { CommandOutput } from '../../contract/flow-unit.js';

/** How much of stdout and stderr is kept: the end, where errors and summaries are. */
export const TAIL_BYTES = 8 * 1024;
/** How long a command gets between SIGTERM and SIGKILL when its stage is aborted. */
export const KILL_GRACE_MS = 500;

const PLACEHOLDER = /\{([^{}]+)\}/g;

/**
 * Fills `{col}` from the row's params and `{stage.key}` (or `{stage}`, or `{stage.a.b}`) from the
 * outputs of needed stages; strings go in as they are, other values as JSON.
 * @throws FlotillaError BAD_INPUT naming the placeholder that has no value.
 */
export function fillArgv(stage: string, argv: readonly string[], params: Record<string, unknown>, outputs: Record<string, unknown>): string[] {
  return argv.map((arg) =>
    arg.replace(PLACEHOLDER, (_m, name: string) => {
      const value = lookup(name, params, outputs);
      if (value === undefined) {
        const known = [...Object.keys(params), ...Object.keys(outputs).map((s) => `${s}.…`)].join(', ') || 'none';
        throw new FlotillaError('BAD_INPUT', `stage "${stage}": placeholder {${name}} in ${JSON.stringify(arg)} has no value (row params and needed stages: ${known})`);
      }
      return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
    }),
  );
}

function lookup(name: string, params: Record<string, unknown>, outputs: Record<string, unknown>): unknown {
  if (Object.hasOwn(params, name)) return params[name];
  const [head, ...path] = name.split('.');
  if (head === undefined || !Object.hasOwn(outputs, head)) return undefined;
  let v: unknown = outputs[head];
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** How a command is shown in messages: its argv, quoted where a word would be ambiguous. */
export function showCommand(argv: readonly string[]): string {
  return argv.map((a) => (a === '' || /[\s"'`\\$]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** Keeps the last `TAIL_BYTES` of a stream without holding the rest. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - this.chunks[0]!.length >= TAIL_BYTES) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    // A cut in the middle of a multi-byte character would decode to a replacement mark.
    return all.subarray(Math.max(0, all.length - TAIL_BYTES)).toString('utf8').replace(/^\uFFFD+/, '');
  }
}

/** Where and how a command stage runs. */
export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Kills the command (SIGTERM, SIGKILL after KILL_GRACE_MS); the run then rejects with its reason. */
  signal: AbortSignal;
}

/**
 * Runs one command to its end. Resolves with its output when it exits 0; rejects with
 * COMMAND_FAILED (exit code or signal, the tails, the duration) otherwise, or with the abort
 * reason once the killed command has really ended, so nothing outlives its stage.
 */
export function runCommand(argv: readonly string[], opts: CommandOptions): Promise<CommandOutput> {
  const shown = showCommand(argv);
  const [file, ...args] = argv;
  if (file === undefined || file === '') return Promise.reject(new FlotillaError('BAD_INPUT', 'a command stage has an empty argv'));
  if (opts.signal.aborted) return Promise.reject(opts.signal.reason);
  const t0 = performance.now();
  const out = new Tail();
  const err = new Tail();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    let spawnError: NodeJS.ErrnoException | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdout.on('error', () => {});
    child.stderr.on('error', () => {});
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError ??= e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      opts.signal.removeEventListener('abort', onAbort);
      const durationMs = Math.round(performance.now() - t0);
      const stdoutTail = out.text();
      const stderrTail = err.text();
      if (spawnError && child.pid === undefined) {
        const why = spawnError.code === 'ENOENT' ? `program "${file}" not found${opts.cwd ? ` (cwd ${opts.cwd})` : ''}` : spawnError.code === 'EACCES' ? `program "${file}" is not executable` : spawnError.message;
        return reject(new FlotillaError('COMMAND_FAILED', `\`${shown}\` could not start: ${why}`, { cause: spawnError, context: { durationMs, program: file, errno: spawnError.code } }));
      }
      if (opts.signal.aborted) return reject(withTails(opts.signal.reason, { durationMs, stdoutTail, stderrTail }));
      if (code === 0) return resolve({ exitCode: 0, durationMs, stdout: stdoutTail, stderr: stderrTail });
      const last = lastLine(stderrTail) ?? lastLine(stdoutTail);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new FlotillaError('COMMAND_FAILED', `\`${shown}\` ${how}${last ? `: ${last}` : ''}`, { context: { exitCode: code, ...(signal ? { signal } : {}), durationMs, stderrTail, stdoutTail } }));
    });
  });
}

function lastLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1];
}

/** Adds what the killed command wrote to an abort reason (a timeout says where it got to). */
function withTails(reason: unknown, ctx: { durationMs: number; stdoutTail: string; stderrTail: string }): unknown {
  if (reason instanceof FlotillaError) return new FlotillaError(reason.code, reason.message, { context: { ...reason.context, ...ctx }, cause: reason.cause });
  return reason;
}
