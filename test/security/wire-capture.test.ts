/**
 * A captured agent <-> controller stream shows no payload: a TCP proxy sits between a real agent
 * process and a real controller, records both directions, and the test looks for the task's
 * arguments, globals, function source and results in every encoding they could appear in.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { createServer, connect as tcpConnect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { laneIds, lanesSatisfy, parseFrames, processExists, runMap, spawnAgent, startController } from './helpers.js';
import { Reaper } from '../support/reaper.js';

const cleanup = Reaper.afterEach();

const ARG = 'SECRET-ARG-7f3a';
const ARG_BYTES = 'SECRET-ARGBIN-3d9e';
const GLOBAL = 'SECRET-GLOBAL-c0de';
const SOURCE = 'SECRET-SOURCE-a11c';
const RESULT = 'SECRET-RESULT-91bc';
const RESULT_BYTES = 'SECRET-RESBIN-44f0';

/** Shipped to the agent as a global of the map (see `globals` below). */
declare const salt: string;

/** A TCP relay that records every byte it forwards, per direction. */
/** What one proxied connection carried, each direction in order. */
interface Captured {
  up: Buffer[];
  down: Buffer[];
}

async function recordingProxy(targetPort: number): Promise<{ port: number; captured: Captured[]; connections: () => number }> {
  const captured: Captured[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const { up, down }: Captured = { up: [], down: [] };
    captured.push({ up, down });
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (c: Buffer) => {
      up.push(c);
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      down.push(c);
      client.write(c);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.add(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, captured, connections: () => captured.length };
}

/** Every way `marker` could show up in a byte stream: UTF-8, UTF-16, hex, base64 at each alignment. */
function forms(marker: string): Buffer[] {
  const out = [Buffer.from(marker, 'utf8'), Buffer.from(marker, 'utf16le'), Buffer.from(Buffer.from(marker).toString('hex'))];
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.from('\0'.repeat(shift) + marker).toString('base64');
    // Drop the groups that mix in the alignment bytes or the padding: the rest is fixed by the marker.
    const core = b64.slice(shift === 0 ? 0 : 4, -4);
    out.push(Buffer.from(core), Buffer.from(core.replace(/\+/g, '-').replace(/\//g, '_')));
  }
  return out;
}

/** One direction of a captured WebSocket connection: its HTTP head and its unmasked frames. */
function decode(stream: Buffer): { head: string; frames: ReturnType<typeof parseFrames> } {
  const end = stream.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  const frames = parseFrames(stream.subarray(end + 4));
  // Every byte after the head parsed as whole frames: the search below skips nothing.
  expect(frames.reduce((n, f) => n + f.size, 0)).toBe(stream.length - end - 4);
  return { head: stream.subarray(0, end).toString('latin1'), frames };
}

function findForms(capture: Buffer, marker: string): string[] {
  return forms(marker)
    .filter((f) => capture.includes(f))
    .map((f) => f.toString());
}

describe('wire capture between agent and controller', () => {
  it('shows no plaintext of task arguments, globals, function source or results', async () => {
    // The job's pool must have a pool-launched agent (a pool needs agents >= 1), so pool `cap`
    // gets one, and the proxied agent is issued credentials for `cap` as well. The scheduler gives
    // every idle lane a task before any lane gets a second, so with both lanes connected before
    // the submit the proxied agent carries tasks; the test checks that it did (lane.completed).
    const { controller } = await startController(cleanup, { pools: { cap: { launcher: 'local', agents: 1, slots: 1 } } });
    const port = Number(new URL(controller.url).port);
    const proxy = await recordingProxy(port);
    const creds = controller.registry.issue('cap', `ws://127.0.0.1:${proxy.port}/agent`, { slots: 1 });
    const agent = spawnAgent(creds, cleanup);
    await lanesSatisfy(controller, (lanes) => lanes.some((l) => l.agentId === creds.agentId), 'proxied agent lane', 15_000);
    expect(laneIds(controller)).toHaveLength(2);
    // Its lane's connection, and (dialled just after) its supervisor's control connection.
    expect(proxy.connections()).toBeGreaterThanOrEqual(1);
    expect(proxy.connections()).toBeLessThanOrEqual(2);

    const items = Array.from({ length: 8 }, (_, i) => ({ s: `${ARG}-${i}`, b: Buffer.from(`${ARG_BYTES}-${i}`) }));
    const results = await runMap(
      controller,
      items,
      async (item: { s: string; b: Buffer }) => {
        const source = 'SECRET-SOURCE-a11c';
        // Long enough that both lanes get work; the markers are built at run time, so they are
        // in no function source: on the wire they could only be results.
        await new Promise((r) => setTimeout(r, 25));
        return {
          text: `${['SECRET', 'RESULT', '91bc'].join('-')}:${item.s.length}:${salt.length}:${source.length}`,
          bytes: Buffer.from(['SECRET', 'RESBIN', '44f0'].join('-') + ':' + item.b.length),
        };
      },
      { pool: 'cap', globals: { salt: GLOBAL } },
    );
    expect(results.map((r) => r.text)).toEqual(items.map((it) => `${RESULT}:${it.s.length}:${GLOBAL.length}:${SOURCE.length}`));
    expect(results.map((r) => Buffer.from(r.bytes).toString())).toEqual(items.map((it) => `${RESULT_BYTES}:${it.b.length}`));

    const proxied = [...controller.scheduler.lanes].find((l) => l.agentId === creds.agentId);
    expect(proxied?.completed, 'tasks completed by the proxied agent').toBeGreaterThan(0);

    // Each connection (the lane's, the control connection's) decoded on its own.
    const conns = proxy.captured.map(({ up: u, down: d }) => {
      const upRaw = Buffer.concat(u), downRaw = Buffer.concat(d);
      const up = decode(upRaw), down = decode(downRaw);
      // Payloads travel unmasked and uncompressed, so the search sees what a relay would see.
      expect(up.head).toMatch(/^GET \/agent HTTP\/1\.1/);
      expect(down.head).toMatch(/^HTTP\/1\.1 101/);
      expect(down.head).not.toMatch(/permessage-deflate/i);
      return { upRaw, downRaw, up, down };
    });
    const upRaw = Buffer.concat(conns.map((c) => c.upRaw)), downRaw = Buffer.concat(conns.map((c) => c.downRaw));
    const up = { frames: conns.flatMap((c) => c.up.frames) }, down = { frames: conns.flatMap((c) => c.down.frames) };
    const upPayload = Buffer.concat(up.frames.map((f) => f.payload));
    const downPayload = Buffer.concat(down.frames.map((f) => f.payload));
    // Control: the agent id travels in the clear inside AUTH (by design), and the search finds it,
    // so it would find a payload marker too.
    expect(findForms(upPayload, creds.agentId)).not.toEqual([]);
    // Both directions carried real traffic: the function and tasks down, results up.
    expect(down.frames.filter((f) => f.opcode === 0x2).length).toBeGreaterThan(3);
    expect(up.frames.filter((f) => f.opcode === 0x2).length).toBeGreaterThan(3);

    const everything = Buffer.concat([upRaw, downRaw, upPayload, downPayload]);
    for (const marker of [ARG, ARG_BYTES, GLOBAL, SOURCE, RESULT, RESULT_BYTES]) {
      expect(findForms(everything, marker), `${marker} on the wire`).toEqual([]);
    }
    // Nor any prefix long enough to identify the markers.
    expect(everything.includes('SECRET-')).toBe(false);

    await agent.kill();
    expect(agent.child.pid !== undefined && processExists(agent.child.pid)).toBe(false);
    await lanesSatisfy(controller, (lanes) => !lanes.some((l) => l.agentId === creds.agentId), 'proxied lane gone');
  });
});
