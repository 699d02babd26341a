/**
 * Fuzz: the value codec (contract/codec.ts), packed lists on the client link
 * (contract/packed.ts) and the checks of what agents send (server/wire-checks.ts). Whatever a
 * peer sends is refused with a named error or read within bounds; nothing crashes, nothing reads
 * past the bytes it was given, nothing touches Object.prototype; valid values round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../contract/codec.js';
import type { Encoded } from '../../contract/codec.js';
import { unpackEncoded } from '../../contract/messages.js';
import { pack, Packed, unpack } from '../../contract/packed.js';
import type { PackedWire } from '../../contract/packed.js';
import { checkPart, checkResult } from '../../server/wire-checks.js';
import { anyJson, budget, hostileValue, notPolluted, params, refusedOrOk } from './fuzz.js';

/** Values the codec carries: JSON plus the rich types and binary data. */
const sendable = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string(), fc.double({ noNaN: false }), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.bigInt(), fc.date({ noInvalidDate: true })),
    fc.uint8Array({ maxLength: 32 }),
    fc.float64Array({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
    fc.array(fc.tuple(fc.string({ maxLength: 4 }), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
  ),
})).value;

describe('fuzz: value codec', () => {
  it('round-trips what it can send', () => {
    fc.assert(
      fc.property(sendable, (v) => {
        expect(decodeValue(encodeValue(v))).toEqual(v);
      }),
      params(),
    );
  }, budget());

  it('decoding whatever a peer put in { j, m, b } returns a value or throws an Error, and pollutes nothing', () => {
    fc.assert(
      fc.property(hostileValue, hostileValue, fc.option(fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 })), (j, m, b) => {
        try {
          decodeValue({ j, m, b: b ?? undefined } as Encoded);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
        notPolluted();
      }),
      params(),
    );
  }, budget());
});

describe('fuzz: packed lists', () => {
  const args = fc.array(sendable, { maxLength: 6 }).map((vs) => vs.map((v) => encodeValue(v)));

  it('round-trips lists of encoded arguments', () => {
    fc.assert(
      fc.property(args, (list) => {
        const back = unpack(JSON.parse(JSON.stringify(pack(new Packed('a', list)))) as PackedWire) as Encoded[];
        expect(back.map((e) => decodeValue(e))).toEqual(list.map((e) => decodeValue(e)));
      }),
      params(),
    );
  }, budget());

  it('a tampered packed list is refused with BAD_INPUT or read within its own bytes', () => {
    const tamper = fc.tuple(args, fc.array(fc.integer({ min: -5, max: 1 << 20 }), { minLength: 1, maxLength: 6 }), fc.option(fc.uint8Array({ maxLength: 64 })), fc.constantFrom<'a' | 'r'>('a', 'r'));
    fc.assert(
      fc.property(tamper, ([list, lengths, blob, kind]) => {
        // Lengths of binary parts that need not add up to the blob: too long, negative, many.
        const rows = list.map((e, i) => ({ ...e, b: [lengths[i % lengths.length]!] }));
        const t = JSON.stringify(kind === 'a' ? rows : rows.map((value, index) => ({ index, ok: true, value })));
        const wire: PackedWire = { k: kind, t, b: Buffer.from(blob ?? new Uint8Array(0)).toString('base64') };
        const out = refusedOrOk(() => unpack(wire), ['BAD_INPUT'], /^malformed packed list: /);
        if (!out) return;
        const size = Buffer.from(wire.b!, 'base64').length;
        let total = 0;
        for (const item of out as Record<string, unknown>[]) {
          const e = (kind === 'a' ? item : item.value) as Encoded;
          for (const part of e.b ?? []) total += part.byteLength;
        }
        expect(total).toBeLessThanOrEqual(size);
      }),
      params(),
    );
  }, budget());

  it('refuses packed lists of any other shape with BAD_INPUT', () => {
    fc.assert(
      fc.property(hostileValue, fc.oneof(fc.string(), anyJson.map((v) => JSON.stringify(v))), fc.option(fc.base64String()), (k, t, b) => {
        refusedOrOk(() => unpack({ k, t, b: b ?? undefined } as PackedWire), ['BAD_INPUT'], /^malformed packed list: /);
        notPolluted();
      }),
      params(),
    );
  }, budget());
});

describe('fuzz: checks of what agents send', () => {
  it('results and parts of any shape are refused with CHANNEL, or are safe to act on', () => {
    fc.assert(
      fc.property(hostileValue, fc.nat(4), fc.boolean(), (item, attachments, asPart) => {
        const bins = Array.from({ length: attachments }, () => new Uint8Array(2));
        if (asPart) {
          const ok = refusedOrOk(() => checkPart(item, attachments), ['CHANNEL'], /^malformed part: /);
          if (!ok) return;
          expect(Number.isSafeInteger(ok[0])).toBe(true);
          const enc = unpackEncoded(ok[1], bins);
          for (const b of enc.b ?? []) expect(bins).toContain(b);
          return;
        }
        const ok = refusedOrOk(() => checkResult(item, attachments), ['CHANNEL'], /^malformed result: /);
        if (!ok) return;
        const [run, flag, payload, durationUs] = ok;
        expect(Number.isSafeInteger(run) && (flag === 0 || flag === 1) && typeof durationUs === 'number').toBe(true);
        if (flag === 1) {
          const enc = unpackEncoded(payload, bins);
          for (const b of enc.b ?? []) expect(bins).toContain(b);
        } else {
          expect(typeof payload.message).toBe('string');
          expect(typeof payload.code).toBe('string');
        }
        notPolluted();
      }),
      params(),
    );
  }, budget());

  it('mutated genuine results are refused or safe', () => {
    const genuine = fc.tuple(fc.nat(), anyJson, fc.nat(3)).map(([run, j, nb]) => [run, 1, { j, b: Array.from({ length: nb }, (_, i) => i) }, 12] as unknown[]);
    fc.assert(
      fc.property(genuine, fc.nat(3), hostileValue, fc.nat(3), (item, at, value, attachments) => {
        const bad = item.slice();
        bad[at] = value;
        refusedOrOk(() => checkResult(bad, attachments), ['CHANNEL'], /^malformed result: /);
        notPolluted();
      }),
      params(),
    );
  }, budget());
});
