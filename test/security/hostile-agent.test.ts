/**
 * An agent holds a key the controller issued, and then misbehaves: results that do not fit the
 * protocol, values that do not decode, huge frames before the handshake. Each harms nobody but
 * itself: its connection ends (or its one result fails), the task runs elsewhere, the
 * controller and the client's process go on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE } from '../../agent/protocol/channel.js';
import { decodeFrame } from '../../agent/protocol/frame.js';
import { Session } from '../../client/session.js';
import type { MapOptions } from '../../client/session.js';
import { localClient, localHotPath } from '../../client/embedded.js';
import { RawPeer, expectStillServing, genuinePeer, lanesSatisfy, readyMessage, sealMessage, startController, within } from './helpers.js';
import { Reaper } from '../support/reaper.js';
import type { GenuinePeer } from './helpers.js';
import { until } from '../support/async.js';
import type { Controller } from '../../server/controller.js';

const cleanup = Reaper.afterEach();

/** A raw lane that has said `ready`, and a job whose tasks go to every idle lane, it included. */
async function rawLaneWithATask(controller: Controller, opts: MapOptions = {}) {
  const raw = await genuinePeer(controller, cleanup);
  await raw.peer.send(sealMessage(raw.sealer, readyMessage()));
  await lanesSatisfy(controller, (lanes) => lanes.some((l) => l.agentId === raw.creds.agentId), 'raw lane added');
  const session = new Session(localClient(controller), localHotPath(controller), controller, async () => {});
  cleanup.add(() => session.close());
  const job = session.map([1, 2, 3, 4], async (x: number) => {
    await new Promise((r) => setTimeout(r, 50));
    return x * 10;
  }, opts);
  const run = await nextRun(raw);
  return { raw, job, run };
}

/** The id of the controller's only job. */
function jobIdOf(controller: Controller): string {
  return [...controller.scheduler.jobs.keys()][0]!;
}

/** Reads controller frames until a `run` message, returning its first run handle. */
async function nextRun({ peer, opener }: GenuinePeer): Promise<number> {
  for (;;) {
    const { msg } = decodeFrame(opener.open(await peer.next())) as { msg: { t: string; tasks?: [number][] } };
    if (msg.t === 'run') return msg.tasks![0]![0];
  }
}

describe('a hostile agent with an issued key', () => {
  it('a result whose binary parts point past the frame ends its connection; the task runs elsewhere', async () => {
    const { controller } = await startController(cleanup);
    const { raw, job, run } = await rawLaneWithATask(controller);
    await raw.peer.send(sealMessage(raw.sealer, { t: 'res', r: [[run, 1, { j: 1, b: [5] }, 10]] }));
    expect((await raw.peer.whenClosed()).code).toBe(CLOSE.BAD_FRAME);
    expect(await within(Promise.resolve(job), 15_000, 'job after the bad result')).toEqual([10, 20, 30, 40]);
  });

  it('a value that does not decode fails that one task, and the client process goes on', async () => {
    const { controller } = await startController(cleanup);
    const { raw, job, run } = await rawLaneWithATask(controller);
    // Well-formed for the controller (meta is opaque to it); superjson cannot apply it.
    await raw.peer.send(sealMessage(raw.sealer, { t: 'res', r: [[run, 1, { j: 1, m: { values: ['map'] } }, 10]] }));
    // Then it goes silent; cut it off so the runs it still holds go back to the queue.
    await until(() => controller.job(jobIdOf(controller)).done >= 1);
    raw.peer.ws.terminate();
    const out = await within(job.outcomes(), 15_000, 'outcomes');
    const bad = out.filter((o) => !o.ok);
    expect(bad.length).toBe(1);
    expect(bad[0]!.ok ? '' : bad[0]!.error.code).toBe('CHANNEL');
    expect(out.filter((o) => o.ok).length).toBe(3);
    await expectStillServing(controller);
  });

  it('an authenticated agent can hold a task forever (the timeout starts when the agent reports the start): a task never started is taken back', async () => {
    const { controller, logs } = await startController(cleanup);
    // The raw lane takes its task and then says nothing: no start, no result (pings still answered).
    const { raw, job } = await rawLaneWithATask(controller, { timeoutMs: 500 });
    expect(await within(Promise.resolve(job), 30_000, 'job while an agent withholds a task')).toEqual([10, 20, 30, 40]);
    const closed = await raw.peer.whenClosed(10_000);
    expect(closed.reason).toMatch(/without starting or answering/);
    expect(logs.join('\n')).not.toMatch(/TypeError|RangeError/);
  });

  it('a peer that sends a large frame before the handshake is cut off at once', async () => {
    const { controller } = await startController(cleanup);
    const peer = await RawPeer.connect(controller.agentUrl, cleanup);
    await peer.next(); // HELLO
    peer.send(Buffer.alloc(64 * 1024 * 1024)).catch(() => {});
    // Destroyed (1006) before the frame was whole: had it been read, it would be refused as a
    // malformed AUTH (4400), after holding all 64 MiB.
    const closed = await peer.whenClosed(5_000);
    expect(closed.code).toBe(1006);
    await expectStillServing(controller);
  });
});

/** A sealed frame holding JSON text as is: a value nested too deep for JSON.stringify to write. */
function sealJsonText(raw: GenuinePeer, json: string): Buffer {
  const text = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(text.length, 0);
  return raw.sealer.seal(Buffer.concat([head, text]));
}

const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('agent messages are checked by schema and size', () => {
  it('a heartbeat whose rssBytes or host is nested 50,000 deep makes agents.list fail for every client: that agent is closed, the listing still answers', async () => {
    const { controller } = await startController(cleanup);
    const variants: Array<[string, (raw: GenuinePeer) => Promise<void>, RegExp]> = [
      [
        'rssBytes in a heartbeat',
        async (raw) => {
          await raw.peer.send(sealMessage(raw.sealer, readyMessage()));
          await lanesSatisfy(controller, (lanes) => lanes.some((l) => l.agentId === raw.creds.agentId), 'raw lane added');
          await raw.peer.send(sealJsonText(raw, `{"t":"hb","running":0,"queued":0,"rssBytes":${nested(50_000)}}`));
        },
        /malformed hb message: rssBytes/,
      ],
      [
        'host in ready',
        (raw) => raw.peer.send(sealJsonText(raw, JSON.stringify(readyMessage()).replace('"raw-peer"', nested(50_000)))),
        /malformed ready message: host/,
      ],
      ['host in ctl', (raw) => raw.peer.send(sealJsonText(raw, `{"t":"ctl","pid":1,"slots":1,"host":${nested(50_000)}}`)), /malformed ctl message: host/],
      ['a 1 MB host name', (raw) => raw.peer.send(sealMessage(raw.sealer, { ...readyMessage(), host: 'h'.repeat(1 << 20) })), /malformed ready message: host/],
    ];
    for (const [name, attack, reason] of variants) {
      const raw = await genuinePeer(controller, cleanup);
      await attack(raw);
      const closed = await raw.peer.whenClosed();
      expect(closed.code, name).toBe(CLOSE.BAD_FRAME);
      expect(closed.reason, name).toMatch(reason);
      const res = await fetch(`${controller.url}/trpc/agents.list`, { headers: { authorization: `Bearer ${controller.token}` } });
      expect(res.status, `${name}: ${(await res.clone().text()).slice(0, 200)}`).toBe(200);
      expect(JSON.stringify(await res.json())).not.toContain(raw.creds.agentId);
    }
    await expectStillServing(controller);
  });
});
