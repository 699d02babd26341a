/**
 * The client endpoint of a standalone controller (the CLI, its own process) under abuse: huge
 * bodies and messages, floods of silent connections, strangers reading error details, plaintext
 * beyond loopback. Each case is named after what it guards.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connect } from '../../client/index.js';
import { Reaper, ROOT, tempDir, within } from '../lifecycle/helpers.js';
import { rejection, until } from '../support/async.js';
import { healthy } from '../support/health.js';
import { CLI, startCliController } from '../support/cli-controller.js';

const MiB = 1024 * 1024;

/** Sends only the headers of a POST declaring `length` bytes; resolves with the status, and the body. */
function declareBody(url: string, token: string, length: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/trpc/map.submit`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(length) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.write('{"json":'); // a first few bytes, then nothing: the answer must not wait for the rest
  });
}

describe('a huge body with a valid token', { timeout: 120_000 }, () => {
  it('a huge body kills or starves it: a body over the limit is refused from its Content-Length (413) before it is read', async () => {
    const reaper = new Reaper();
    const c = await startCliController(reaper, ['--agents', '1']);
    const res = await within(declareBody(c.url, c.token, 500 * MiB), 10_000, 'an answer to a 500 MB declared body');
    expect(res.status).toBe(413);
    expect(res.body).toMatch(/over the controller's limit of 32\.0 MiB/);
    // A body without a Content-Length is counted as it arrives.
    const streamed = await within(
      fetch(`${c.url}/trpc/map.submit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
        body: new ReadableStream({
          start(ctl) {
            for (let i = 0; i < 40; i++) ctl.enqueue(new Uint8Array(MiB).fill(0x20));
            ctl.close();
          },
        }),
        duplex: 'half',
      } as RequestInit),
      20_000,
      'an answer to a 40 MiB chunked body',
    ).catch((err: unknown) => ({ status: -1, err }));
    // Either the 413 arrives, or the controller closed the connection mid-upload: never accepted.
    expect([413, -1]).toContain(streamed.status);
    expect(await healthy(c.url)).toBe(true);
  });

  it('a huge body kills or starves it: a WebSocket message over the limit closes the socket with 1009 and the reason', async () => {
    const reaper = new Reaper();
    const c = await startCliController(reaper, ['--agents', '1']);
    const ws = new WebSocket(c.url.replace(/^http/, 'ws') + '/trpc', { headers: { authorization: `Bearer ${c.token}` } });
    ws.on('error', () => {});
    reaper.add(() => ws.terminate());
    await within(new Promise((r) => ws.once('open', r)), 10_000, 'the WebSocket to open');
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.send(Buffer.alloc(40 * MiB, 0x20));
    const { code, reason } = await within(closed, 20_000, 'the close of a socket that sent 40 MiB');
    expect(code).toBe(1009);
    expect(reason).toMatch(/limit of 32\.0 MiB/);
    expect(await healthy(c.url)).toBe(true);
  });

  it('a huge body kills or starves it: connect() sends large jobs under the limit, and an item over it fails at the client with BAD_INPUT', async () => {
    const reaper = new Reaper();
    const c = await startCliController(reaper, ['--agents', '1']);
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => fl.close());
    // 40 MiB of arguments in items of 10 MiB (13.3 MiB as base64), and 40 MiB in 400 items of text: each in messages under the limit.
    const big = Array.from({ length: 4 }, (_, i) => Buffer.alloc(10 * MiB, i));
    expect(await within(fl.map(big, (b: Buffer) => b[0]! + b.length), 60_000, 'a map of 4 items of 10 MiB')).toEqual([0, 1, 2, 3].map((i) => i + 10 * MiB));
    const text = Array.from({ length: 400 }, (_, i) => String(i % 10).repeat(100_000));
    expect(await within(fl.map(text, (s: string) => s.length), 60_000, 'a map of 400 items of 100 kB')).toEqual(text.map((s) => s.length));
    // One item larger than a message may carry: refused here, naming the limit, and nothing is sent.
    const err = await rejection(fl.map([1, Buffer.alloc(20 * MiB)], (b: unknown) => String(b).length));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/item 1 is 26\.7 MiB encoded: one item .* may be at most 16\.0 MiB/);
    expect((await fl.jobs()).length).toBe(2);
  });
});

describe('connection caps', { timeout: 120_000 }, () => {
  it('file-descriptor exhaustion: 1,500 silent TCP connections to a controller limited to 1,024 files stop neither /trpc/health nor a relaunched agent', async () => {
    const reaper = new Reaper();
    const c = await startCliController(reaper, ['--agents', '1'], { shell: 'ulimit -n 1024;' });
    const port = Number(new URL(c.url).port);
    const sockets: Socket[] = [];
    reaper.add(() => sockets.forEach((s) => s.destroy()));
    const opened = Array.from({ length: 1500 }, () => new Promise<void>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      sockets.push(s);
      s.on('error', () => resolve());
      s.on('connect', () => resolve());
      s.on('close', () => resolve());
    }));
    await within(Promise.all(opened), 30_000, 'the flood to connect');
    // While the flood holds on, health answers within a few tries; agents still come and go.
    await until(() => healthy(c.url), 15_000);
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile, waitForAgents: 1 });
    reaper.add(() => fl.close());
    const [lane] = (await fl.agents()).lanes;
    process.kill(lane!.pid, 'SIGKILL');
    await until(async () => (await fl.agents()).lanes.some((l) => l.pid !== lane!.pid), 30_000);
    expect(await within(fl.map([1, 2], (x: number) => x * 2), 30_000, 'a map on the relaunched agent')).toEqual([2, 4]);
    expect(c.proc.child.exitCode).toBe(null);
  });
});

describe('error answers', { timeout: 60_000 }, () => {
  it('401 responses carry server stack traces with absolute paths: no stack or path reaches a client', async () => {
    const reaper = new Reaper();
    const c = await startCliController(reaper, ['--agents', '1']);
    const bodies: string[] = [];
    for (const path of ['agents.list', 'jobs.list']) {
      const res = await fetch(`${c.url}/trpc/${path}`);
      expect(res.status).toBe(401);
      bodies.push(await res.text());
    }
    // With the token, a bad input is a 400 with its message, and no stack either.
    const bad = await fetch(`${c.url}/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify({ json: { jobId: 5 } }))}`, { headers: { authorization: `Bearer ${c.token}` } });
    expect(bad.status).toBe(400);
    bodies.push(await bad.text());
    for (const body of bodies) {
      expect(body).not.toMatch(/"stack"/);
      expect(body).not.toMatch(/\n\s+at |\bat .*:\d+:\d+/);
      expect(body).not.toContain(ROOT);
      expect(body).not.toContain('node_modules');
    }
  });
});

describe('listening beyond loopback', { timeout: 90_000 }, () => {
  it('the client endpoint has no TLS, and --host 0.0.0.0 is accepted: without TLS it is refused, naming the options and the SSH forward', async () => {
    const reaper = new Reaper();
    const state = join(tempDir(reaper), 'state');
    const r = await execa(process.execPath, [CLI, 'controller', '--host', '0.0.0.0', '--port', '0', '--state-dir', state], { reject: false, timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without TLS/);
    expect(r.stderr).toMatch(/--tls-cert FILE --tls-key FILE/);
    expect(r.stderr).toMatch(/--tls self-signed/);
    expect(r.stderr).toMatch(/ssh -L 7711:127\.0\.0\.1:7711/);
    expect(existsSync(state)).toBe(false); // refused before anything was made or bound
  });

  it('the client endpoint has no TLS: --tls self-signed serves TLS, connect() pins the printed fingerprint, a wrong pin or plain HTTP gets nothing', async () => {
    const reaper = new Reaper();
    const c = await startCliController(reaper, ['--agents', '1', '--tls', 'self-signed']);
    expect(c.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(c.fingerprint).toBeDefined();
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile, fingerprint: c.fingerprint, waitForAgents: 1 });
    reaper.add(() => fl.close());
    expect(await within(fl.map([1, 2, 3], (x: number) => x + 1), 30_000, 'a map over TLS')).toEqual([2, 3, 4]);

    // A certificate that is not the pinned one: refused before the token is sent.
    const other = c.fingerprint!.split(':').reverse().join(':');
    const wrong = await rejection(connect({ url: c.url, tokenFile: c.tokenFile, fingerprint: other }));
    expect(wrong.code).toBe('UNAUTHORIZED');
    expect(wrong.message).toMatch(/not the pinned/);
    // Without a pin, a self-signed certificate is not trusted.
    const unpinned = await rejection(connect({ url: c.url, tokenFile: c.tokenFile }));
    expect(unpinned.message).toMatch(/fingerprint/);
    // In the clear, the same port serves agents only: no API, not even with the token.
    const plain = await fetch(`${c.url.replace('https', 'http')}/trpc/agents.list`, { headers: { authorization: `Bearer ${c.token}` } });
    expect(plain.status).toBe(400);
    expect(await plain.text()).toMatch(/over TLS only/);
    // The CLI's own commands pin too.
    const agents = await execa(process.execPath, [CLI, 'agents', '--url', c.url, '--token-file', c.tokenFile, '--fingerprint', c.fingerprint!], { reject: false, timeout: 20_000 });
    expect(agents.stdout, agents.stderr).toMatch(/pool local \(local\)/);
  });

  it('the self-signed certificate is kept: a restart on the same state folder has the same fingerprint', async () => {
    const reaper = new Reaper();
    const first = await startCliController(reaper, ['--agents', '1', '--tls', 'self-signed']);
    first.proc.child.kill('SIGTERM');
    await within(first.proc.exited, 10_000, 'the first controller to stop');
    const second = await startCliController(reaper, ['--agents', '1', '--tls', 'self-signed'], { stateDir: first.stateDir });
    expect(second.fingerprint).toBe(first.fingerprint);
  });
});

describe('--no-token', { timeout: 60_000 }, () => {
  it('a --no-token controller lets any local user run code as the controller user: the help says so, and beyond loopback it is refused', async () => {
    const help = await execa(process.execPath, [CLI, 'controller', '--help'], { timeout: 20_000 });
    expect(help.stdout).toMatch(/--no-token[\s\S]*any user of this machine can then run code as you/i);
    const reaper = new Reaper();
    const state = join(tempDir(reaper), 'state');
    const r = await execa(process.execPath, [CLI, 'controller', '--no-token', '--host', '10.200.0.1', '--port', '0', '--tls', 'self-signed', '--state-dir', state], { reject: false, timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/refusing to listen on 10\.200\.0\.1 without a token/);
  });
});
