/**
 * The shape of pool options, as zod schemas: which keys each launcher kind takes and their
 * types (each kind's own schema, launchers/schemas.ts). Ranges and relations between options
 * (min <= max, durations) are checked by planPools, which runs this first; `connect({ pools })`
 * and `flotilla controller --config` run the same check. Kept apart from pool-options.ts so
 * checking options loads no launcher (nor ssh2).
 */
import { z } from 'zod';
import { launcherSchemas } from './launchers/schemas.js';

type KindSchema = (typeof launcherSchemas)[keyof typeof launcherSchemas];
const words = Object.keys(launcherSchemas).map((k) => `'${k}'`);

/** One pool's options: `launcher` says which kind, and which keys it takes. */
export const poolOptionsSchema = z.discriminatedUnion('launcher', Object.values(launcherSchemas) as [KindSchema, ...KindSchema[]], {
  error: (iss) => (iss.code === 'invalid_union' ? `launcher must be ${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : undefined),
});

/** Pools by name. */
export const poolsSchema = z.record(z.string().min(1), poolOptionsSchema);
