/**
 * Clients authenticate with the bearer token: without it (or with a wrong one) a caller gets
 * nothing, over HTTP or WebSocket, from `connect()` or from raw requests; `health` stays open.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { connect } from '../../client/connect.js';
import { FlotillaError } from '../../contract/errors.js';
import { encodeValue } from '../../contract/codec.js';
import { shipFunction } from '../../client/ship.js';
import { transformer } from '../../contract/transformer.js';
import type { Controller } from '../../server/controller.js';
import { deferred, laneIds, runMap, startController, within } from './helpers.js';
import { Reaper } from '../support/reaper.js';

const cleanup = Reaper.afterEach();

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

/** A well-formed map.submit input, so a refusal can only be about the token. */
function submitInput(): unknown {
  return transformer.serialize({ fn: shipFunction((x: number) => x + 1), args: [encodeValue(41)] });
}

/** One tRPC call over a raw WebSocket, optionally sending connectionParams first. */
/**
 * One raw tRPC call over WebSocket, the token (if any) sent as the upgrade's bearer header.
 * Resolves with the answer, or with `{ refused: status }` when the upgrade itself is turned away.
 */
async function wsCall(controller: Controller, call: { method: 'query' | 'mutation' | 'subscription'; path: string; input?: unknown }, token?: string): Promise<Record<string, unknown>> {
  const url = controller.url.replace(/^http/, 'ws') + '/trpc';
  const ws = new WebSocket(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  ws.on('error', () => {});
  cleanup.add(() => ws.terminate());
  const answer = deferred<Record<string, unknown>>();
  ws.on('unexpected-response', (_req, res) => answer.resolve({ refused: res.statusCode }));
  ws.on('open', () => ws.send(JSON.stringify({ id: 1, method: call.method, params: { path: call.path, input: call.input } })));
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as Record<string, unknown>;
    if (msg.id === 1) answer.resolve(msg);
  });
  return within(answer.promise, 5_000, `answer to ${call.path}`);
}

describe('client authentication', () => {
  it('connect() with a wrong token, or with none, rejects with UNAUTHORIZED', async () => {
    const { controller } = await startController(cleanup);
    const saved = process.env.FLOTILLA_TOKEN;
    delete process.env.FLOTILLA_TOKEN;
    cleanup.add(() => {
      if (saved !== undefined) process.env.FLOTILLA_TOKEN = saved;
    });

    const wrong = await rejection(within(connect({ url: controller.url, token: 'wrong' }), 10_000, 'connect with a wrong token'));
    expect(wrong).toBeInstanceOf(FlotillaError);
    expect((wrong as FlotillaError).code).toBe('UNAUTHORIZED');

    const none = await rejection(within(connect({ url: controller.url }), 10_000, 'connect without a token'));
    expect(none).toBeInstanceOf(FlotillaError);
    expect((none as FlotillaError).code).toBe('UNAUTHORIZED');
    expect((none as FlotillaError).message).toMatch(/none was given/);
    expect(controller.scheduler.jobs.size).toBe(0);
  });

  it('connect() with the right token gets a working remote session', async () => {
    const { controller } = await startController(cleanup);
    const session = await within(connect({ url: controller.url, token: controller.token }), 10_000, 'connect with the token');
    cleanup.add(() => session.close());
    expect((await session.agents()).lanes.map((l) => l.agentId)).toEqual(laneIds(controller));
    expect(await within(session.map([1, 2, 3], (x: number) => x * 10), 10_000, 'remote map')).toEqual([10, 20, 30]);
  });

  it('HTTP calls without the token, or with a wrong one, get 401 and create nothing', async () => {
    const { controller } = await startController(cleanup);
    const base = controller.url;
    const lanes = laneIds(controller);

    const bare = await fetch(`${base}/trpc/agents.list`);
    expect(bare.status).toBe(401);
    const bareBody = await bare.text();
    for (const id of lanes) expect(bareBody).not.toContain(id);

    const wrong = await fetch(`${base}/trpc/agents.list`, { headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
    await wrong.text();
    const notBearer = await fetch(`${base}/trpc/agents.list`, { headers: { authorization: controller.token! } });
    expect(notBearer.status).toBe(401);
    await notBearer.text();
    expect((await fetch(`${base}/trpc/jobs.list`)).status).toBe(401);

    const submit = await fetch(`${base}/trpc/map.submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(submitInput()) });
    expect(submit.status).toBe(401);
    await submit.text();
    expect(controller.scheduler.jobs.size).toBe(0);

    // Control: the same request with the token is answered, so the 401s are about the token.
    const right = await fetch(`${base}/trpc/agents.list`, { headers: { authorization: `Bearer ${controller.token}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain(lanes[0]!);
  });

  it('health answers without a token', async () => {
    const { controller } = await startController(cleanup);
    const res = await fetch(`${controller.url}/trpc/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { data: { json: { ok: boolean; version: string } } } };
    expect(body.result.data.json).toEqual({ ok: true, version: controller.version });
  });

  it('a WebSocket client without the token, or with a wrong one, can neither submit nor read results', async () => {
    const { controller } = await startController(cleanup);
    // A finished job whose results a stranger must not read.
    expect(await runMap(controller, [1, 2], (x: number) => `result-${x}`)).toEqual(['result-1', 'result-2']);
    const [jobId] = [...controller.scheduler.jobs.keys()];

    // Without the token there is no socket at all: the upgrade is refused before any message.
    for (const token of [undefined, 'wrong']) {
      const submit = await wsCall(controller, { method: 'mutation', path: 'map.submit', input: submitInput() }, token);
      expect(submit, `submit, token ${token}`).toEqual({ refused: 401 });
      const results = await wsCall(controller, { method: 'subscription', path: 'jobs.results', input: transformer.serialize({ jobId }) }, token);
      expect(results, `results, token ${token}`).toEqual({ refused: 401 });
    }
    expect(controller.scheduler.jobs.size).toBe(1);

    // Control: the same message with the token submits, so the refusals are about the token.
    const accepted = await wsCall(controller, { method: 'mutation', path: 'map.submit', input: submitInput() }, controller.token);
    expect(JSON.stringify(accepted)).toMatch(/"jobId"/);
    expect(controller.scheduler.jobs.size).toBe(2);
  });
});
