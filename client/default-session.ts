/**
 * The shared embedded session of `clusterMap()` and `flow()` without a session: started on first
 * use (local agents on this machine), closed by itself when the program has nothing else to do.
 */
import type { Session } from './session.js';

let shared: Promise<Session> | undefined;

/** @internal The shared embedded session of clusterMap and flow(), started on first use. */
export function defaultSession(): Promise<Session> {
  if (!shared) {
    // Embedded whatever FLOTILLA_URL says: clusterMap and flow() without a session run on local
    // agents; connect() is how to reach a shared controller. What connect() does for an embedded
    // controller, less checking options known to be good: the agents start first.
    shared = import('./embedded-start.js').then(({ startEmbedded }) => startEmbedded({ controller: {} }));
    // Everything the embedded controller holds is unref'd, so this fires once the program's own
    // work is done; then agents are stopped and the temporary state is removed.
    const onIdle = () => {
      process.off('beforeExit', onIdle);
      void closeDefaultSession();
    };
    process.on('beforeExit', onIdle);
  }
  return shared;
}

/** Closes the shared session of `clusterMap`, if one was started. */
export async function closeDefaultSession(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).close();
}
