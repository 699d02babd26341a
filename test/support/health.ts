/** Whether a controller answers its health check at `url` (http://host:port) within a second. */
export async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/trpc/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}
