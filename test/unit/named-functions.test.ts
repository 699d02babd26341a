/**
 * toNamed: the fields a map or call by name submits. Checked names and frozen handles are
 * remembered (every `fl.call` of the same function would otherwise run the schema checks again);
 * what could change between calls is checked every time.
 */
import { describe, expect, it } from 'vitest';
import { toNamed } from '../../client/functions.js';

const V = 'abcdef0123456789';

describe('toNamed', () => {
  it('reuses the checked fields of a name or a frozen handle, and checks an object that may change on every call', () => {
    const handle = Object.freeze({ name: 'fit', version: V });
    expect(toNamed(handle)).toEqual({ fnName: 'fit', fnVersion: V });
    expect(toNamed(handle)).toBe(toNamed(handle));
    expect(toNamed('fit')).toBe(toNamed('fit'));
    const loose = { name: 'fit', version: V };
    expect(toNamed(loose)).toEqual({ fnName: 'fit', fnVersion: V });
    loose.version = 'not-hex';
    expect(() => toNamed(loose)).toThrow(/version "not-hex" of function "fit" is not valid/);
    loose.version = V;
    loose.name = '9 bad';
    expect(() => toNamed(loose)).toThrow(/function name "9 bad"/);
  });

  it('refuses options fixed at registration, and a bad name, however often they come', () => {
    toNamed('fit');
    for (let i = 0; i < 2; i++) {
      expect(() => toNamed('fit', { globals: { k: 1 } })).toThrow(/map option\(s\) globals belong to the registration/);
      expect(() => toNamed('has space')).toThrow(/function name "has space"/);
    }
    expect(() => toNamed(Object.freeze({ name: 'fit', version: 'XYZ' }))).toThrow(/is not valid/);
  });
});
