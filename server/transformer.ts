/**
 * The tRPC transformer between clients and the controller: superjson, taught to carry the binary
 * parts of encoded values as base64 strings instead of JSON lists of numbers. (Between controller
 * and agents, binary parts travel as raw frame attachments.)
 */
import { SuperJSON } from 'superjson';

export const transformer = new SuperJSON();
transformer.registerCustom<Uint8Array, string>(
  {
    isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
    serialize: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
    deserialize: (s) => new Uint8Array(Buffer.from(s, 'base64')),
  },
  'u8',
);
