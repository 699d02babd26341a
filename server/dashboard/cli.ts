/**
 * `flotilla dashboard`: checks that the controller answers and takes the token, then prints the
 * dashboard's login URL, or with `--open` hands it to the desktop's opener (xdg-open, open).
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { parseControllerUrl, pinFor, preflight, resolveToken } from '../../client/remote/reach.js';
import { dashboardLoginUrl } from '../../contract/dashboard-url.js';

/** The program that opens a URL in the user's browser on this platform. */
function opener(): [string, string[]] {
  if (process.platform === 'darwin') return ['open', []];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""']];
  return ['xdg-open', []];
}

/** Opens `url` in a browser; rejects with a clear reason when no opener runs. */
function openInBrowser(url: string): Promise<void> {
  const [cmd, args] = opener();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args, url], { stdio: 'ignore', detached: true });
    child.once('error', (err) => reject(new Error(`cannot run ${cmd} to open a browser (${err.message}): open the URL above yourself`)));
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/** Adds the action to the `dashboard` command (its connection options come from the CLI's own). */
export function dashboardCommand(cmd: Command): void {
  cmd.option('--open', 'open it in the browser (xdg-open on Linux, open on macOS)').action(async (o: { url: string; tokenFile?: string; fingerprint?: string; open?: boolean; json?: boolean }) => {
    const url = parseControllerUrl(o.url);
    const token = resolveToken({ tokenFile: o.tokenFile });
    await preflight(url, o.url, token, 5000, pinFor(url, o.fingerprint));
    // The page is served over HTTP(S), whichever scheme the controller was named with.
    const login = dashboardLoginUrl(`${url.protocol === 'https:' || url.protocol === 'wss:' ? 'https' : 'http'}://${url.host}`, token);
    console.log(o.json ? JSON.stringify({ url: login }) : login);
    if (o.open) await openInBrowser(login);
  });
}
