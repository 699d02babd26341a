/**
 * An open dashboard, as the benchmark's controller sees one: logs in with the login URL (token
 * for cookie) and reads the page's WebSocket stream like a browser, counting frames and bytes.
 */
import { WebSocket } from 'ws';

export interface DashboardViewer {
  frames: number;
  bytes: number;
  close(): void;
}

export async function openDashboard(loginUrl: string): Promise<DashboardViewer> {
  const login = await fetch(loginUrl, { redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')?.split(';')[0];
  if (login.status !== 303 || !cookie) throw new Error(`dashboard login answered ${login.status}`);
  const origin = new URL(loginUrl).origin;
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/dashboard/ws`, { headers: { cookie, origin } });
  const viewer: DashboardViewer = { frames: 0, bytes: 0, close: () => ws.close() };
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve());
    ws.once('error', reject);
  });
  ws.on('message', (data: Buffer) => {
    viewer.frames++;
    viewer.bytes += data.length;
  });
  return viewer;
}
