/**
 * The data path between client, controller and agents bounds what it accepts: no call spreads an
 * unbounded array, every decoder and encoder bounds value depth, and every claimed length is
 * checked against the bytes that arrived. A bad value fails its own task or its own submit
 * (BAD_INPUT), never the controller, another job or another client.
 */
import { readFileSync, readdirSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Session } from '../../client/session.js';
import { localClient, localHotPath } from '../../client/embedded.js';
import { shipFunction } from '../../client/ship.js';
import { decodeValue, encodeValue } from '../../contract/codec.js';
import { expectStillServing, genuinePeer, lanesSatisfy, readyMessage, sealMessage, startController, within } from './helpers.js';
import { Reaper } from '../support/reaper.js';
import type { GenuinePeer } from './helpers.js';
import { decodeFrame } from '../../agent/protocol/frame.js';
import { transformer } from '../../contract/transformer.js';
import { packedArgs, unpack } from '../../contract/packed.js';
import type { PackedWire } from '../../contract/packed.js';
import { readChunk, writeChunk } from '../../server/store/chunk.js';
import type { Controller } from '../../server/controller.js';
import { ROOT } from '../lifecycle/helpers.js';
import { rejection, until } from '../support/async.js';

const cleanup = Reaper.afterEach();

/** JSON text of an array nested `depth` deep, built without recursion. */
const deepJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** Posts a raw tRPC mutation body (already JSON text) with the controller's token. */
async function postMutation(controller: Controller, path: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${controller.url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${controller.token}` },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** A map.submit body with `args` written by `tamper` into the JSON text of a genuine one. */
function submitBody(args: unknown, fn: (x: unknown) => unknown = (x) => x): Record<string, unknown> {
  return transformer.serialize({ fn: shipFunction(fn), args }) as unknown as Record<string, unknown>;
}

/** A raw lane that said `ready`, and the run handle of the first task it is sent. */
async function rawLane(controller: Controller): Promise<{ raw: GenuinePeer; run: Promise<number> }> {
  const raw = await genuinePeer(controller, cleanup);
  await raw.peer.send(sealMessage(raw.sealer, readyMessage()));
  await lanesSatisfy(controller, (lanes) => lanes.some((l) => l.agentId === raw.creds.agentId), 'raw lane added');
  const run = (async () => {
    for (;;) {
      const { msg } = decodeFrame(raw.opener.open(await raw.peer.next())) as { msg: { t: string; tasks?: [number][] } };
      if (msg.t === 'run') return msg.tasks![0]![0];
    }
  })();
  return { raw, run };
}

/** Seals a result message whose JSON is given as text (too deep for JSON.stringify to write). */
function sealRawJson(raw: GenuinePeer, json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return raw.sealer.seal(frame);
}

/** Once the raw lane's result is recorded, cuts it off: the runs it still holds go back to the queue. */
async function cutOffAfterOneResult(controller: Controller, raw: GenuinePeer): Promise<void> {
  await until(() => [...controller.scheduler.jobs.values()].some((j) => j.done >= 1));
  raw.peer.ws.terminate();
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * A durable controller with one raw lane the test speaks for, and a 4-task job (x * 10, 50 ms
 * each) whose first run that lane holds.
 */
async function durableJobOnRawLane() {
  const stateDir = mkdtempSync(join(tmpdir(), 'flotilla-datapath-'));
  cleanup.add(() => rmSync(stateDir, { recursive: true, force: true }));
  const { controller } = await startController(cleanup, { stateDir, durable: true });
  const { raw, run } = await rawLane(controller);
  const session = new Session(localClient(controller), localHotPath(controller), controller, async () => {});
  cleanup.add(() => session.close());
  const job = session.map([1, 2, 3, 4], async (x: number) => {
    await new Promise((r) => setTimeout(r, 50));
    return x * 10;
  });
  return { controller, raw, run, job };
}

describe('no spread of an unbounded array into a call', () => {
  it('no source file spreads an array into push, Math.max/min, fromCharCode or a call through apply', () => {
    const pattern = /\.(push|unshift)\(\.\.\.|Math\.(max|min)\(\.\.\.|fromCharCode\(\.\.\.|fromCodePoint\(\.\.\.|\.apply\(\s*[^,)]+,\s*[a-zA-Z_]/;
    const hits: string[] = [];
    for (const top of ['server', 'client', 'agent']) {
      for (const file of sourceFiles(join(ROOT, top))) {
        readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
          if (pattern.test(line)) hits.push(`${file.slice(ROOT.length)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(hits).toEqual([]);
  });
});

describe('value depth is bounded at every decoder and encoder', () => {
  it('the value codec refuses a value nested too deep, on encode and on decode, with BAD_INPUT', () => {
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(() => encodeValue(v, 'item 0')).toThrow(/item 0 is nested more than \d+ levels deep/);
    const err = (() => {
      try {
        decodeValue({ j: JSON.parse(deepJson(100_000)) });
      } catch (e) {
        return e as { code?: string };
      }
    })();
    expect(err?.code).toBe('BAD_INPUT');
    // Within the bound, values still round-trip, Maps of Maps included.
    let m: unknown = new Date(0);
    for (let i = 0; i < 400; i++) m = new Map([['k', m]]);
    expect(decodeValue(encodeValue(m))).toEqual(m);
  });

  it('an argument nested 100,000 deep on an in-memory controller is refused at submit with nothing scheduled, and other jobs run', async () => {
    const { controller } = await startController(cleanup);
    const body = JSON.stringify(submitBody([{ j: 'DEEP' }])).replace('"DEEP"', deepJson(100_000));
    const res = await within(postMutation(controller, 'map.submit', body), 15_000, 'the deep submit');
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/nested more than \d+ levels/);
    // One just past the value bound passes the message check and is refused by the submit's own.
    const body2 = JSON.stringify(submitBody([{ j: 'DEEP' }])).replace('"DEEP"', deepJson(1_560));
    const res2 = await postMutation(controller, 'map.submit', body2);
    expect(res2.status).toBe(400);
    expect(res2.text).toMatch(/argument of task 0 is nested more than \d+ levels/);
    // The in-process hot path (no router, no schema) is refused the same way.
    const err = await rejection(localHotPath(controller).submit({ fn: shipFunction((x: unknown) => x), args: [{ j: JSON.parse(deepJson(1_560)) }] }));
    expect(err.code).toBe('BAD_INPUT');
    expect(controller.scheduler.jobs.size).toBe(0);
    for (const lane of controller.scheduler.lanes) expect(lane.runs.size).toBe(0);
    await expectStillServing(controller);
  });

  it('a value nested 20,000 deep from an agent fails that task alone on a durable controller', async () => {
    const { controller, raw, run, job } = await durableJobOnRawLane();
    await raw.peer.send(sealRawJson(raw, `{"t":"res","r":[[${await run},1,{"j":${deepJson(20_000)}},10]]}`));
    await cutOffAfterOneResult(controller, raw);
    const out = await within(job.outcomes(), 20_000, 'outcomes after the deep value');
    const bad = out.filter((o) => !o.ok);
    expect(bad.length).toBe(1);
    expect(bad[0]!.ok ? '' : `${bad[0]!.error.code} ${bad[0]!.error.message}`).toMatch(/^TASK_ERROR .*nested more than \d+ levels/);
    expect(out.filter((o) => o.ok).map((o) => (o.ok ? o.value : 0)).sort()).toHaveLength(3);
    await expectStillServing(controller);
  });

  it('an error context nested 20,000 deep from an agent fails that task with its own code and message, the context dropped', async () => {
    const { controller, raw, run, job } = await durableJobOnRawLane();
    await raw.peer.send(sealRawJson(raw, `{"t":"res","r":[[${await run},0,{"code":"TASK_ERROR","message":"boom","context":{"deep":${deepJson(20_000)}}},10]]}`));
    await cutOffAfterOneResult(controller, raw);
    const out = await within(job.outcomes(), 20_000, 'outcomes after the deep context');
    const bad = out.filter((o) => !o.ok);
    expect(bad.length).toBe(1);
    if (!bad[0]!.ok) {
      expect(bad[0]!.error.code).toBe('TASK_ERROR');
      expect(bad[0]!.error.message).toBe('boom');
      expect(String(bad[0]!.error.context.contextDropped)).toMatch(/nested more than \d+ levels/);
    }
    await expectStillServing(controller);
  });
});

describe('out-of-bounds read in packed values', () => {
  it('a packed argument whose binary part claims more bytes than it carries is refused, and reads no other memory', async () => {
    const { controller } = await startController(cleanup);
    const genuine = submitBody(packedArgs([encodeValue(Buffer.from('hello'))]));
    const wire = (genuine.json as { args: PackedWire }).args;
    expect(wire.t).toContain('"b":[5]');
    const tampered = { ...genuine, json: { ...(genuine.json as object), args: { ...wire, t: wire.t.replace('"b":[5]', '"b":[64]') } } };
    const res = await within(postMutation(controller, 'map.submit', JSON.stringify(tampered)), 15_000, 'the tampered submit');
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/claim more than the 5 bytes that arrived/);
    expect(controller.scheduler.jobs.size).toBe(0);
    // A negative or fractional length, and bytes that no value claims, are refused too.
    for (const t of [wire.t.replace('"b":[5]', '"b":[-1]'), wire.t.replace('"b":[5]', '"b":[2.5]'), wire.t.replace('"b":[5]', '"b":[3]')]) {
      expect(() => unpack({ ...wire, t })).toThrow(/malformed packed list/);
    }
    // The genuine one still works, and gives back exactly its own bytes.
    const ok = await postMutation(controller, 'map.submit', JSON.stringify(genuine));
    expect(ok.status).toBe(200);
    await expectStillServing(controller);
  });

  it('unpacked parts are never views into a pooled buffer', () => {
    const wire = (submitBody(packedArgs([encodeValue(Buffer.from('hi')), encodeValue(new Uint8Array([1, 2, 3]))])).json as { args: PackedWire }).args;
    const items = unpack(wire) as { b: Uint8Array[] }[];
    const parts = items.flatMap((e) => e.b);
    expect(parts.map((p) => p.byteLength)).toEqual([2, 3]);
    // Their buffer holds this list's bytes and nothing else.
    expect(parts.every((p) => p.buffer.byteLength === 5)).toBe(true);
  });

  it('a stored chunk whose lengths point past its end fails its reader with a message', () => {
    const blob = writeChunk([encodeValue(new Uint8Array([1, 2, 3, 4]))], (e, pack) => pack(e));
    expect(readChunk(blob, (w, un) => un(w))).toHaveLength(1);
    const damaged = Buffer.from(blob);
    damaged.writeUInt32LE(1 << 20, damaged.length - 4 - 4); // the binary part's length
    expect(() => readChunk(damaged, (w, un) => un(w))).toThrow(/damaged stored chunk/);
  });
});
