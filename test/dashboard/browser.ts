/**
 * Debian's Chromium, headless, driven by puppeteer-core: a page whose every loaded URL (requests
 * and WebSockets) is recorded, and screenshots kept under test-results/ as test artifacts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const RESULTS = join(import.meta.dirname, '../../test-results');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI has no user namespace sandbox to give; /dev/shm may be small in containers.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    defaultViewport: { width: 1400, height: 1000 },
    protocolTimeout: 120_000,
  });
}

/** A page that records every URL it loads or opens a WebSocket to. */
export async function recordingPage(browser: Browser): Promise<{ page: Page; urls: string[] }> {
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  const urls: string[] = [];
  page.on('request', (r) => void urls.push(r.url()));
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketCreated', (e) => void urls.push(e.url));
  return { page, urls };
}

/** Saves a full-page screenshot as test-results/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
