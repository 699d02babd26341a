/**
 * The page at scale, in Chromium: 500 agents of 4 slots and a 1,000,000-task job whose control
 * events arrive as fast as this process can make them. The dashboard's own server (the same
 * class the controller mounts) is fed by a load generator of control events, since this machine
 * cannot run 500 agents; the page must keep showing the counts move and the agents' table whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { ControlEventStream } from '../../server/events.js';
import { Dashboard, DASHBOARD_WS_PATH } from '../../server/dashboard/index.js';
import type { LaneInfo } from '../../contract/agent-types.js';
import type { JobStatus } from '../../contract/job-types.js';
import { launchBrowser, recordingPage, screenshot } from './browser.js';

declare const document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number } };

const TOTAL = 1_000_000;
const events = new ControlEventStream();
const lanes: LaneInfo[] = Array.from({ length: 2000 }, (_, i) => ({
  agentId: `big-${String(Math.floor(i / 4)).padStart(3, '0')}`, lane: i % 4, pool: 'big', host: `node-${Math.floor(i / 64)}`, pid: 1000 + Math.floor(i / 4), node: 'v20', platform: 'linux-x64',
  connectedAt: Date.now(), inFlight: 1, completed: 0, rssBytes: 2.5e8, cpu: 0.95, artifactTransfers: 0,
}));
const status = (done: number): JobStatus => {
  const running = Math.min(2000, TOTAL - done);
  return { id: 'j-million', pool: 'big', state: 'running', total: TOTAL, done, failed: 0, running, queued: TOTAL - done - running, createdAt: Date.now(), finishedAt: undefined };
};
const pool = { name: 'big', launcher: 'slurm', agents: 500, min: 0, max: 500, running: 500, starting: 0, retiring: 0, failure: undefined };

let server: Server;
let dashboard: Dashboard;
let browser: Browser;
let base: string;
let stop = false;

/** Emits a million tasks' worth of control events in batches of 4,000, yielding between batches. */
async function runMillion(): Promise<void> {
  for (let done = 0; done < TOTAL && !stop; ) {
    const now = Date.now();
    const finished = Array.from({ length: 4000 }, (_, i) => [done + i, 1, lanes[i % 2000]!.agentId, i % 4, now - 5, now, true] as [number, number, string, number, number, number, boolean]);
    done += finished.length;
    events.emit('tasks', { job: 'j-million', started: [], finished, failures: [], requeued: 0 });
    events.emit('job.progress', { job: 'j-million', status: status(done) });
    await new Promise((r) => setImmediate(r));
  }
}

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  dashboard = new Dashboard(
    { events, jobs: () => [status(0)], agents: () => ({ pools: [pool], lanes }), launched: () => [], runningFlows: () => [], flow: () => undefined, logs: () => [] },
    { token: 'scale-test-token', secure: false },
  );
  server.on('request', (req, res) => void (dashboard.handleRequest(req, res) || res.writeHead(404).end()));
  server.on('upgrade', (req, socket, head) => ((req.url ?? '').startsWith(DASHBOARD_WS_PATH) ? dashboard.handleUpgrade(req, socket, head) : socket.destroy()));
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  stop = true;
  await browser?.close();
  dashboard?.close();
  server?.close();
});

describe('the dashboard at scale', () => {
  it('shows 500 agents and a million-task job moving, from aggregates and a bounded window', async () => {
    const { page } = await recordingPage(browser);
    let received = 0;
    page.on('console', () => {});
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketFrameReceived', (e) => void (received = Math.max(received, e.response.payloadData.length)));
    await page.goto(`${base}/?token=scale-test-token`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('#pools tr[data-agent]').length === 500, { polling: 'mutation' });
    const million = runMillion();
    const done = '#jobs tr[data-job="j-million"] td.done';
    const doneOf = (sel: string) => Number((document.querySelector(sel)?.textContent ?? '').split('/')[0]!.replace(/,/g, ''));
    await page.waitForFunction(`(${doneOf})(${JSON.stringify(done)}) > 0 && (${doneOf})(${JSON.stringify(done)}) < ${TOTAL}`, { polling: 'mutation', timeout: 120_000 });
    await page.waitForFunction(`(${doneOf})(${JSON.stringify(done)}) === ${TOTAL}`, { polling: 'mutation', timeout: 180_000 });
    await million;
    await screenshot(page, 'dashboard-scale');
    expect(Number(await page.$eval('#task-stream', (e) => e.getAttribute('data-spans')))).toBeLessThanOrEqual(4000);
    // No frame carried every task: the largest was a few hundred kilobytes at most.
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(1_000_000);
    await page.close();
  }, 300_000);
});
