import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { Controller } from '../../server/controller.js';
import { HIGH_WATER } from '../../server/router.js';
import { transformer } from '../../contract/transformer.js';
import { until } from '../support/async.js';

let controller: Controller;
let fl: Session;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-bp-'));
  controller = await Controller.start({ stateDir: dir, pools: { local: { launcher: 'local', agents: 2 } }, log: () => {} });
  fl = await connect({ url: controller.url, token: controller.token });
});
afterAll(async () => {
  await fl?.close();
  await controller?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a slow client', () => {
  it('does not grow controller memory: its result stream waits while unsent bytes are high', async () => {
    const n = 200;
    const job = fl.map(Array.from({ length: n }, (_, i) => i), (i) => Buffer.alloc(256 * 1024, i % 256));
    const jobId = await job.id;
    job.catch(() => {});

    // A raw tRPC client that subscribes, then stops reading its socket.
    const ws = new WebSocket(controller.url.replace('http', 'ws') + '/trpc', { headers: { authorization: `Bearer ${controller.token}` } });
    await new Promise((r) => ws.once('open', r));
    let received = 0;
    let last = 0;
    const done = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === 'PING') return ws.send('PONG'); // tRPC's keep-alive, which a raw client must answer
        const msg = JSON.parse(text);
        const batch = msg.result?.data && transformer.deserialize(msg.result.data) as { data?: { seq: number; results: unknown[]; total: number } };
        if (!batch?.data) return;
        received += batch.data.results.length;
        last = batch.data.seq;
        if (batch.data.seq >= batch.data.total) resolve();
      }),
    );
    ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'jobs.results', input: transformer.serialize({ jobId }) } }));
    await until(() => received > 0);
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    // While the client reads nothing, the job runs on and the controller holds back. Paused only
    // until that shows (results worth three high-water marks held back, or the job done): a
    // client silent past tRPC's keep-alive (10 s + 5 s) is taken for dead, and on a loaded
    // machine the whole job takes longer than that.
    const serverSide = () => [...(controller as unknown as { front: { clients: ReadonlySet<WebSocket> } }).front.clients];
    let maxBuffered = 0;
    const sampler = setInterval(() => {
      for (const c of serverSide()) maxBuffered = Math.max(maxBuffered, c.bufferedAmount);
    }, 5);
    const heldBack = Math.ceil((3 * HIGH_WATER) / (256 * 1024));
    await until(() => controller.job(jobId).finished || controller.job(jobId).done - received >= heldBack, 20_000);
    await new Promise((r) => setTimeout(r, 300)); // a last look: nothing more is pushed meanwhile
    clearInterval(sampler);
    const totalBytes = n * 256 * 1024 * 1.34;
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThan(HIGH_WATER + 2.5 * 1024 * 1024); // the high-water mark plus one batch
    expect(maxBuffered).toBeLessThan(totalBytes / 4);
    expect(received).toBeLessThan(n);

    // Once it reads again, everything arrives.
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await done;
    expect(received).toBe(n);
    expect(last).toBe(n);
    ws.close();
    expect((await job).length).toBe(n);
  });
});
