/**
 * The dashboard's login URL: the controller's address with its token, once. Opening it in a
 * browser exchanges the token for a cookie and drops it from the address bar.
 */
export function dashboardLoginUrl(base: string, token: string | undefined): string {
  const root = base.replace(/\/+$/, '');
  return token ? `${root}/?token=${encodeURIComponent(token)}` : `${root}/`;
}
