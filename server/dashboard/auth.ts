/**
 * Who may see the dashboard: whoever holds the controller's token. The printed URL carries it
 * once (`/?token=…`); the controller answers with an HttpOnly, SameSite=Strict cookie and a
 * redirect to `/`, so the token leaves the address bar and the history, and the page never
 * puts it in a URL it loads. The cookie's value is derived from the token (an HMAC), so it
 * is not the API token itself, and it holds as long as the token does.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export class DashboardAuth {
  private readonly cookieValue: string | undefined;

  constructor(
    private readonly token: string | undefined,
    private readonly secure: boolean,
  ) {
    this.cookieValue = token === undefined ? undefined : createHmac('sha256', token).update('flotilla dashboard session').digest('base64url');
  }

  /** Whether `given` is the controller's token. */
  tokenMatches(given: string | null): boolean {
    return this.token === undefined || (given !== null && equal(given, this.token));
  }

  /**
   * The cookie's name, one per port the browser sees (browsers share cookies between the ports of
   * a host; an SSH forward may show the controller at another port than its own).
   */
  cookieName(req: IncomingMessage): string {
    const port = /:(\d{1,5})$/.exec(req.headers.host ?? '')?.[1];
    return `flotilla_dashboard_${port ?? (this.secure ? '443' : '80')}`;
  }

  /** Whether the request carries the dashboard's cookie (or the controller needs no token). */
  cookieOk(req: IncomingMessage): boolean {
    if (this.cookieValue === undefined) return true;
    const name = this.cookieName(req);
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name && equal(part.slice(eq + 1).trim(), this.cookieValue)) return true;
    }
    return false;
  }

  /** The Set-Cookie header that admits the browser (a session cookie, for this controller only). */
  setCookie(req: IncomingMessage): string {
    return `${this.cookieName(req)}=${this.cookieValue ?? ''}; Path=/; HttpOnly; SameSite=Strict${this.secure ? '; Secure' : ''}`;
  }

  /**
   * Whether a WebSocket upgrade comes from the dashboard's own page: its Origin names the host it
   * asked for. Stops another site's page, in a browser holding the cookie, from reading the stream.
   */
  sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin, host = req.headers.host;
    if (typeof origin !== 'string' || typeof host !== 'string') return false;
    return origin === `${this.secure ? 'https' : 'http'}://${host}`;
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
