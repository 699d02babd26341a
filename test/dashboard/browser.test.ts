/**
 * The dashboard in a real browser (Debian's Chromium, headless), watching a real job on real
 * local agents: it logs in with the printed URL, sees counts move and finish, a failure's remote
 * stack appear, agents appear as the pool grows and leave as it shrinks; no URL it loads carries
 * the token. Screenshots go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/session.js';
import { launchBrowser, recordingPage, screenshot } from './browser.js';

// What the functions run in the page use of the DOM, for the type checker (tests compile without lib.dom).
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): Iterable<{ classList: { contains(name: string): boolean } }>;
};

let fl: Session;
let browser: Browser;

beforeAll(async () => {
  // An elastic pool: no agent until work comes, up to two while it waits, none soon after.
  fl = await connect({ pools: { elastic: { launcher: 'local', min: 0, max: 2, slots: 2, idleTimeout: '1500ms' } } });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await fl?.close();
});

describe('the dashboard in Chromium', () => {
  it('logs in with the token, follows a job and a failure on agents that come and go, and never loads a URL with the token', async () => {
    const token = fl.controller!.token!;
    const base = fl.controller!.url;
    const { page, urls } = await recordingPage(browser);
    await page.goto(fl.dashboardUrl(), { waitUntil: 'domcontentloaded' });
    expect(page.url()).toBe(`${base}/`);
    const cookies = await browser.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict', session: true });
    await page.waitForSelector('#connection.on');
    await page.waitForSelector('#pools [data-pool="elastic"]');

    // A job of 800 tasks of 20 ms on up to 4 slots: the counts move for a few seconds.
    const job = fl.map(Array.from({ length: 800 }, (_, i) => i), async (x: number) => {
      await new Promise((r) => setTimeout(r, 20));
      return x;
    }, { pool: 'elastic' });
    const id = await job.id;
    const done = `#jobs tr[data-job="${id}"] td.done`;
    const doneOf = (sel: string) => Number(/^(\d+)\/800$/.exec(document.querySelector(sel)?.textContent ?? '')?.[1] ?? -1);
    await page.waitForFunction(`(${doneOf})(${JSON.stringify(done)}) > 0 && (${doneOf})(${JSON.stringify(done)}) < 800`, { polling: 'mutation' });
    await page.waitForSelector('#pools tr[data-agent].running');
    await page.waitForFunction(() => Number(document.querySelector('#task-stream')?.getAttribute('data-spans')) > 0, { polling: 'mutation' });
    // A quarter done (or, on a fast machine, all of it): the picture of a run in progress.
    await page.waitForFunction(`(${doneOf})(${JSON.stringify(done)}) >= 200`, { polling: 'mutation' });
    await screenshot(page, 'dashboard-running');
    await job;
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '800/800', { polling: 'mutation' }, done);
    expect(await page.$eval(`#jobs tr[data-job="${id}"] td.state`, (e) => e.textContent)).toMatch(/^done/);
    const agents = await page.$$eval('#pools tr[data-agent]', (rows) => rows.map((r) => r.getAttribute('data-agent')));
    expect(agents.length).toBeGreaterThanOrEqual(1);

    // A task that throws: its remote stack, with the function's frame, shows under Failures.
    const failing = fl.map([7], function explodeOnPurpose(x: number): number {
      throw new RangeError(`dashboard test failure ${x}`);
    }, { pool: 'elastic', retries: 0 });
    const failedId = await failing.id;
    await failing.catch(() => {});
    const failure = `#failures details[data-job="${failedId}"]`;
    await page.waitForSelector(failure);
    expect(await page.$eval(`${failure} summary`, (e) => e.textContent)).toContain('RangeError: dashboard test failure 7');
    expect(await page.$eval(`${failure} pre.stack`, (e) => e.textContent)).toContain('explodeOnPurpose');
    await page.$eval(`${failure} summary`, (e) => (e as unknown as { click(): void }).click());
    await screenshot(page, 'dashboard-failure');

    // Idle past idleTimeout: the pool retires its agents, and the page shows them leave.
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#pools tr[data-agent]')];
      return rows.length > 0 && rows.every((r) => r.classList.contains('exited'));
    }, { polling: 'mutation', timeout: 60_000 });
    await page.waitForSelector('#launches li.exited');
    await screenshot(page, 'dashboard-scaled-down');

    // Only the first navigation carried the token; nothing the page loaded did.
    expect(urls[0]).toContain(encodeURIComponent(token));
    const later = urls.slice(1);
    expect(later.some((u) => u.endsWith('/dashboard/ws'))).toBe(true);
    for (const u of later) expect(u).not.toContain(encodeURIComponent(token));
    for (const u of later) expect(u).not.toContain('token=');
    await page.close();

    // A browser without the cookie gets 401 and nothing else.
    const stranger = await browser.createBrowserContext();
    const anon = await stranger.newPage();
    const refused = await anon.goto(`${base}/`);
    expect(refused?.status()).toBe(401);
    expect(await anon.evaluate(() => document.querySelector('body')?.textContent)).toBe('401 Unauthorized\n');
    await stranger.close();
  }, 180_000);
});
