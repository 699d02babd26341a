/**
 * The type of the controller's tRPC router, for typed clients. A type-only re-export: it is
 * erased at run time, so importing it loads no server code.
 */
export type { AppRouter } from '../server/router.js';
