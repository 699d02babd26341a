/**
 * The tRPC transformer between clients and the controller: superjson, taught to carry the binary
 * parts of encoded values as base64 strings instead of JSON lists of numbers, and result batches
 * packed as one string (server/packed-results.ts). (Between controller and agents, binary parts
 * travel as raw frame attachments.)
 */
import { SuperJSON } from 'superjson';
import { PackedResults, packResults, unpackResults } from './packed-results.js';
import type { PackedWire } from './packed-results.js';
import type { TaskResult } from './job.js';

export const transformer = new SuperJSON();
transformer.registerCustom<Uint8Array, string>(
  {
    isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
    serialize: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
    deserialize: (s) => new Uint8Array(Buffer.from(s, 'base64')),
  },
  'u8',
);
// Reads back as the plain results array, which is what its readers expect.
transformer.registerCustom<PackedResults, PackedWire>(
  {
    isApplicable: (v): v is PackedResults => v instanceof PackedResults,
    serialize: (v) => packResults(v),
    deserialize: (w) => unpackResults(w) as unknown as PackedResults,
  },
  'results',
);
