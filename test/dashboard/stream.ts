/** The dashboard's stream as a test reads it: log in with the login URL, take the first (full) frame. */
import { WebSocket } from 'ws';
import type { Frame } from '../../server/dashboard/view.js';

export async function firstFrame(loginUrl: string): Promise<Frame> {
  const login = await fetch(loginUrl, { redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const origin = new URL(loginUrl).origin;
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/dashboard/ws`, { headers: { cookie, origin } });
  try {
    return await new Promise<Frame>((resolve, reject) => {
      ws.once('message', (m: Buffer) => resolve(JSON.parse(String(m)) as Frame));
      ws.once('error', reject);
    });
  } finally {
    ws.close();
  }
}
