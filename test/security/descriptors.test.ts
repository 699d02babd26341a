/**
 * File-descriptor exhaustion: a controller whose descriptors run out (idle connections, or a leak)
 * must not die when it next starts an agent, and must serve again once descriptors are back.
 * The controller runs in a child process under a lowered `ulimit -n`, so a few hundred sockets
 * stand in for the 20,000 that exhaust a default limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { deferred, within } from './helpers.js';
import { Reaper } from '../support/reaper.js';

const cleanup = Reaper.afterEach();

const FIXTURE = new URL('./fixtures/fd-controller.ts', import.meta.url).pathname;

/** The fixture controller under `ulimit -n limit`: its events, its stderr, and a way to send commands. */
function startLimited(limit: number) {
  const child = spawn('sh', ['-c', `ulimit -n ${limit} && exec "$0" --import tsx "$1"`, process.execPath, FIXTURE], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own TMPDIR: a controller ended by a signal cannot remove its state folder; the reaper does.
    env: { ...process.env, TMPDIR: cleanup.tempDir('flotilla-fd-') },
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const died = exited.then((code) => {
    throw new Error(`the controller died (exit ${code}); its stderr ends:\n${stderr.slice(-1500)}`);
  });
  died.catch(() => {});
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => void (stderr += s));
  /** Resolves once the controller's log matches `re`. */
  const logged = (re: RegExp, ms = 20_000): Promise<void> => {
    if (re.test(stderr)) return Promise.resolve();
    const d = deferred();
    const on = () => re.test(stderr) && d.resolve();
    child.stderr!.on('data', on);
    return within(Promise.race([d.promise, died]), ms, `log line ${re}; stderr: ${stderr.slice(-800)}`).finally(() => child.stderr!.off('data', on));
  };
  child.stdin!.on('error', () => {});
  cleanup.add(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within(exited, 10_000, 'fixture controller exit');
  });
  const events: Record<string, unknown>[] = [];
  let waiter: (() => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as Record<string, unknown>);
    waiter?.();
  });
  /** The next event that has `key`, failing at once if the controller dies. */
  const next = async (key: string, ms = 30_000): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = events.findIndex((e) => key in e);
      if (i >= 0) return events.splice(i, 1)[0]!;
      const d = deferred();
      waiter = d.resolve;
      await within(Promise.race([d.promise, died]), ms, `event ${key}; stderr: ${stderr.slice(-800)}`);
    }
  };
  const send = (cmd: string) => child.stdin!.write(cmd + '\n');
  return { next, send, logged, alive: () => child.exitCode === null && child.signalCode === null };
}

/** Opens `n` TCP connections to `port` that never send a byte; resolves once each is up or refused. */
async function silentConnections(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  cleanup.add(() => sockets.forEach((s) => s.destroy()));
  await Promise.all(
    Array.from({ length: n }, () => {
      const s = tcpConnect(port, '127.0.0.1');
      sockets.push(s);
      s.on('error', () => {});
      return new Promise<void>((resolve) => (s.once('connect', () => resolve()), s.once('close', () => resolve())));
    }),
  );
  return sockets;
}

describe('file-descriptor exhaustion crashes it', () => {
  it('a spawn that fails with EMFILE is a failed launch with its reason, and agents start again once descriptors are back', async () => {
    const c = startLimited(256);
    await c.next('ready');
    c.send('fill');
    expect((await c.next('filled')).error).toBe('EMFILE');
    c.send('kill');
    await c.next('killed');
    // The pool relaunches the agent it lost, and cannot: logged with the reason, no crash.
    await c.logged(/launch failed: cannot start .*EMFILE/);
    c.send('free');
    await c.next('freed');
    c.send('map');
    expect((await c.next('values', 60_000)).values).toEqual([1, 4, 9]);
    expect(c.alive()).toBe(true);
  }, 120_000);

  it('silent TCP connections cannot take the descriptors that relaunching an agent needs; health answers once they go', async () => {
    const c = startLimited(512);
    const { ready: url } = (await c.next('ready')) as { ready: string };
    const port = Number(new URL(url).port);
    const sockets = await silentConnections(port, 700);
    c.send('kill');
    await c.next('killed');
    c.send('map');
    expect((await c.next('values', 60_000)).values).toEqual([1, 4, 9]);
    for (const s of sockets) s.destroy();
    const health = await within(fetch(`${url}/trpc/health`), 10_000, 'health after the connections closed');
    expect(health.status).toBe(200);
    expect(c.alive()).toBe(true);
  }, 120_000);
});
