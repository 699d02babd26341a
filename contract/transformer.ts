/**
 * The tRPC transformer between clients and the controller: superjson, taught to carry the binary
 * parts of encoded values as base64 strings instead of JSON lists of numbers, and to write lists
 * of encoded values (result batches, task arguments) as one string (contract/packed.ts). (Between
 * controller and agents, binary parts travel as raw frame attachments.)
 */
import { SuperJSON } from 'superjson';
import { Packed, pack, unpack } from './packed.js';
import type { PackedWire } from './packed.js';
import { MAX_VALUE_DEPTH, MAX_WIRE_DEPTH, deeperThan } from './bounds.js';
import { FlotillaError } from './errors.js';

export const transformer = new SuperJSON();

/** Levels a request or response may nest: an encoded value's limit plus its envelope. */
const MAX_MESSAGE_DEPTH = MAX_WIRE_DEPTH + 32;
const deserializeChecked = transformer.deserialize.bind(transformer);
// superjson walks its input recursively: an input nested deeper than any value may be is refused
// before it is walked, with a message, rather than overflowing the stack of whoever decodes it.
transformer.deserialize = <T>(payload: Parameters<SuperJSON['deserialize']>[0], options?: Parameters<SuperJSON['deserialize']>[1]): T => {
  if (deeperThan(payload?.json, MAX_MESSAGE_DEPTH) || deeperThan(payload?.meta, MAX_MESSAGE_DEPTH)) {
    throw new FlotillaError('BAD_INPUT', `a message nested more than ${MAX_MESSAGE_DEPTH} levels deep was refused (values may nest ${MAX_VALUE_DEPTH} levels)`);
  }
  return deserializeChecked<T>(payload, options);
};
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
