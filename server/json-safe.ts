/**
 * JSON for what JSON lacks, for printing values: BigInt as a string, Map and Set as arrays,
 * typed arrays as lists. A `JSON.stringify` replacer.
 */
export function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return [...v.entries()];
  if (v instanceof Set) return [...v];
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>, (x) => (typeof x === 'bigint' ? String(x) : x));
  return v;
}
