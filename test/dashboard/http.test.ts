/**
 * The dashboard's door, over plain HTTP and WebSocket: nothing without the token, the token
 * traded for a cookie (HttpOnly, SameSite=Strict) by a redirect that drops it, a strict CSP on
 * every answer, and the stream refused to another origin even with the cookie.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/session.js';

let fl: Session;
let base: string;
let token: string;

beforeAll(async () => {
  fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } } });
  base = fl.controller!.url;
  token = fl.controller!.token!;
});
afterAll(() => fl?.close());

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens the stream; resolves with the first frame, or the refusal's status. */
function openStream(headers: Record<string, string>): Promise<number | object> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/dashboard/ws`, { headers });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('message', (m) => {
      resolve(JSON.parse(String(m)));
      ws.close();
    });
    ws.on('error', reject);
  });
}

describe('dashboard access', () => {
  it('answers 401 and nothing else without the token, to the page, its files and a wrong token', async () => {
    for (const path of ['/', '/index.html', '/dashboard/app.js', '/dashboard/app.css', `/?token=${'x'.repeat(token.length)}`, '/?token=']) {
      const r = await get(path);
      expect(r.status, path).toBe(401);
      expect(r.body).toBe('401 Unauthorized\n');
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    // Not even with the token as a bearer header: the page's door is the cookie.
    expect((await get('/', { authorization: `Bearer ${token}` })).status).toBe(401);
    expect(await openStream({ origin: base })).toBe(401);
  });

  it('trades the token for an HttpOnly, SameSite=Strict cookie with a redirect that drops it', async () => {
    const r = await get(`/?token=${encodeURIComponent(token)}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    expect(r.headers['cache-control']).toBe('no-store');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(token);
    const pair = cookie.split(';')[0]!;
    const page = await get('/', { cookie: pair });
    expect(page.status).toBe(200);
    expect(page.body).toContain('/dashboard/app.js');
    expect(page.body).not.toContain(token);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect((await get('/dashboard/app.js', { cookie: pair })).headers['content-type']).toMatch(/javascript/);
    expect(fl.dashboardUrl()).toBe(`${base}/?token=${encodeURIComponent(token)}`);
  });

  it('takes the stream only from its own origin, even with the cookie', async () => {
    const cookie = String((await get(`/?token=${encodeURIComponent(token)}`)).headers['set-cookie']).split(';')[0]!;
    expect(await openStream({ cookie, origin: 'http://evil.example' })).toBe(403);
    expect(await openStream({ cookie })).toBe(403);
    const frame = (await openStream({ cookie, origin: base })) as { full: boolean; pools: Array<{ name: string }> };
    expect(frame.full).toBe(true);
    expect(frame.pools.map((p) => p.name)).toEqual(['local']);
  });
});
