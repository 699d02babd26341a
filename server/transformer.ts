/**
 * The tRPC transformer between clients and the controller: superjson, taught to carry the binary
 * parts of encoded values as base64 strings instead of JSON lists of numbers, and to write lists
 * of encoded values (result batches, task arguments) as one string (server/packed.ts). (Between
 * controller and agents, binary parts travel as raw frame attachments.)
 */
import { SuperJSON } from 'superjson';
import { Packed, pack, unpack } from './packed.js';
import type { PackedWire } from './packed.js';

export const transformer = new SuperJSON();
transformer.registerCustom<Uint8Array, string>(
  {
    isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
    serialize: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
    deserialize: (s) => new Uint8Array(Buffer.from(s, 'base64')),
  },
  'u8',
);
// Reads back as the plain array, which is what its readers (and the input schemas) expect.
transformer.registerCustom<Packed, PackedWire>(
  {
    isApplicable: (v): v is Packed => v instanceof Packed,
    serialize: (v) => pack(v),
    deserialize: (w) => unpack(w) as unknown as Packed,
  },
  'packed',
);
