/**
 * How a session reaches a running controller: the typed tRPC client over WebSocket with the
 * bearer token, and the hot path of every map (submit, append, watch). An embedded controller's
 * counterparts are in embedded.ts.
 */
import { withBearer } from './remote/bearer-ws.js';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import type { Agent } from 'node:https';
import type { AppRouter } from '../contract/api.js';
import type { ResultBatch } from '../contract/job-types.js';
import { transformer } from '../contract/transformer.js';
import { CHUNK_TARGET_BYTES } from '../contract/limits.js';
import { argumentBudget, packToFit, plainArgsBytes } from './chunks.js';
import type { AppendInput, SubmitInput } from '../contract/schemas.js';
import { MAX_JOBS_PER_SUBMIT } from '../contract/session-schemas.js';
import type { MuxTransport } from './result-mux.js';
import type { CallPath } from './calls.js';
import { packedList } from '../contract/packed.js';

/**
 * The two calls on every map's path. An embedded controller takes them in process (no router,
 * no serialization, no AbortSignal per call); a remote one over tRPC. Everything else goes
 * through the typed tRPC client either way.
 */
export interface HotPath {
  /** Submits the job with as many of `args` as one message carries: `sent` says how many. */
  submit(input: SubmitInput): Promise<{ jobId: string; total: number; sent: number }>;
  /** Appends as many of `args` as one message carries: `sent` says how many. */
  append(input: AppendInput): Promise<{ sent: number }>;
  /** Streams a job's results from the first; returns a function that stops the stream. */
  watch(jobId: string, onBatch: (b: ResultBatch) => void, onError: (err: unknown) => void): () => void;
  /** Many jobs in one submission, and many jobs' results on one stream (client/result-mux.ts). */
  readonly mux: MuxTransport;
  /** A direct path for `fl.call` (client/calls.ts), where the transport has one; else a call is a one-task map. */
  readonly call?: CallPath;
}

/** The hot path over tRPC. */
export function trpcHotPath(trpc: TRPCClient<AppRouter>): HotPath {
  return {
    // Arguments travel packed: one string, not a superjson walk of every encoded argument; and
    // no more of them than keeps the message within the controller's limit.
    submit: async (input) => {
      const { args, count } = packToFit(input.args, argumentBudget(input.fn), 0, true);
      return { ...(await trpc.map.submit.mutate({ ...input, args })), sent: count };
    },
    append: async (input) => {
      const { args, count } = packToFit(input.args, CHUNK_TARGET_BYTES, input.offset);
      await trpc.map.append.mutate({ ...input, args });
      return { sent: count };
    },
    watch: (jobId, onBatch, onError) => {
      const sub = trpc.jobs.results.subscribe({ jobId }, { onData: (ev) => onBatch(ev.data), onError });
      return () => sub.unsubscribe();
    },
    mux: trpcMux(trpc),
  };
}

/** One message of a submission: its jobs, the functions they share, its size so far. */
interface Group {
  jobs: unknown[];
  fns: unknown[];
  fnKeys: Map<string, { at: number; budget: number }>;
  sent: number[];
  bytes: number;
}

const newGroup = (): Group => ({ jobs: [], fns: [], fnKeys: new Map(), sent: [], bytes: 0 });

/** Keys of specs seen: maps of a function without globals share one spec object (client/ship.ts). */
const fnKeys = new WeakMap<object, string>();

/** A function spec's content as a key (maps in a loop may ship equal specs as distinct objects); none if it has no JSON form. */
function fnKey(fn: unknown): string | undefined {
  const known = typeof fn === 'object' && fn !== null ? fnKeys.get(fn) : undefined;
  if (known !== undefined) return known;
  try {
    const key = JSON.stringify(fn);
    if (typeof fn === 'object' && fn !== null && key !== undefined) fnKeys.set(fn, key);
    return key;
  } catch {
    return undefined;
  }
}

/** The mux's calls over tRPC: a turn's jobs in as few messages as keep each within the controller's limit. */
function trpcMux(trpc: TRPCClient<AppRouter>): MuxTransport {
  return {
    submit: async (stream, jobs) => {
      const groups: Group[] = [];
      let group = newGroup();
      for (const job of jobs) {
        // A function several maps run travels once per message, and is measured once.
        const key = job.fn && fnKey(job.fn);
        let shared = key === undefined ? undefined : group.fnKeys.get(key);
        const budget = shared ? shared.budget : argumentBudget(job.fn);
        // Small plain arguments (most single-task maps) are sized without packing them on their own.
        const plain = plainArgsBytes(job.args);
        const { count, bytes: argBytes } = plain !== undefined && plain <= budget ? { count: job.args.length, bytes: plain } : packToFit(job.args, budget, 0, true);
        // Measured packed on its own; travels in the submission's one packed list.
        const args = count === job.args.length ? job.args : job.args.slice(0, count);
        const size = (shared ? 0 : CHUNK_TARGET_BYTES - budget) + argBytes;
        if (group.jobs.length > 0 && (group.bytes + size > CHUNK_TARGET_BYTES || group.jobs.length >= MAX_JOBS_PER_SUBMIT)) {
          groups.push(group);
          group = newGroup();
          shared = undefined;
        }
        if (key !== undefined && !shared) {
          shared = { at: group.fns.length, budget };
          group.fns.push(job.fn);
          group.fnKeys.set(key, shared);
        }
        // A shared function travels once: the job names it by `fnAt` (JSON leaves out the undefined `fn`).
        group.jobs.push(shared ? { ...job, fn: undefined, args, fnAt: shared.at } : { ...job, args });
        group.sent.push(count);
        group.bytes += size;
      }
      groups.push(group);
      const answers = await Promise.all(groups.map((g) => trpc.session.submit.mutate({ stream, fns: g.fns, jobs: packedList('j', g.jobs) })));
      return answers.flatMap((a, g) => a.map((o, i) => ({ ...o, sent: groups[g]!.sent[i] })));
    },
    follow: (stream, jobs) => trpc.session.follow.mutate({ stream, jobs }),
    open: (stream, on) => {
      const sub = trpc.session.results.subscribe({ stream }, { onStarted: () => on.started(), onData: (parts) => on.data(parts), onError: (err) => on.error(err) });
      return () => sub.unsubscribe();
    },
  };
}

/** How long a remote session's socket stays open with nothing pending. */
const IDLE_CLOSE_MS = 1000;

/** The tRPC client of a controller over WebSocket. */
export function remoteClient(url: string, token: string | undefined, agent?: Agent): { trpc: TRPCClient<AppRouter>; close(): Promise<void> } {
  // Node 20 has no global WebSocket: tRPC gets the `ws` implementation (over a pinning agent when given).
  // Lazy: the socket opens for the first call and closes once no call or stream has been pending
  // for IDLE_CLOSE_MS, so a program that forgets close() still exits when its work is done (and
  // no reconnect loop runs for a session with nothing to do).
  const ws = createWSClient({ url, WebSocket: withBearer(token, { agent }), retryDelayMs: (n) => Math.min(100 * 2 ** n, 5000), lazy: { enabled: true, closeMs: IDLE_CLOSE_MS } });
  const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer })] });
  return { trpc, close: () => ws.close() };
}
