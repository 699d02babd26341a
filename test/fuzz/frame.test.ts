/**
 * Fuzz: the frame decoder (agent/protocol/frame.ts) and the sealing under it (seal.ts), as the
 * channel runs them on every message from a peer. Random and mutated bytes are refused with
 * CHANNEL; nothing else is thrown, attachments stay within the input, valid frames round-trip.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../agent/protocol/frame.js';
import { Opener, Sealer } from '../../agent/protocol/seal.js';
import { anyJson, budget, mutated, params, refusedOrOk } from './fuzz.js';

const frameParts = fc.tuple(anyJson, fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }));
const validFrame = frameParts.map(([msg, bins]) => new Uint8Array(encodeFrame(msg, bins)));

describe('fuzz: frame decoder', () => {
  it('round-trips every message and its attachments', () => {
    fc.assert(
      fc.property(frameParts, ([msg, bins]) => {
        const { msg: back, bins: out } = decodeFrame(encodeFrame(msg, bins));
        expect(back).toEqual(JSON.parse(JSON.stringify(msg)));
        expect(out.map((b) => [...b])).toEqual(bins.map((b) => [...b]));
      }),
      params(),
    );
  }, budget());

  it('refuses random and mutated bytes with a named CHANNEL error; attachments never reach past the input', () => {
    fc.assert(
      fc.property(mutated(validFrame), (bytes) => {
        const out = refusedOrOk(() => decodeFrame(bytes), ['CHANNEL'], /^malformed frame: /);
        if (!out) return;
        let total = 0;
        for (const b of out.bins) {
          // Views into the input, not copies: a peer cannot make the decoder allocate.
          expect(b.buffer).toBe(bytes.buffer);
          expect(b.byteOffset).toBeGreaterThanOrEqual(bytes.byteOffset);
          expect(b.byteOffset + b.byteLength).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
          total += 4 + b.byteLength;
        }
        expect(total).toBeLessThanOrEqual(bytes.length);
      }),
      params(),
    );
  }, budget());

  it('a length field claiming 4 GB is refused without allocating it', () => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(0xffffffff, 0);
    expect(() => decodeFrame(b)).toThrow(/malformed frame: message length past the end/);
    const a = encodeFrame({ t: 'x' }, [new Uint8Array(3)]);
    a.writeUInt32BE(0xffffffff, a.length - 7);
    expect(() => decodeFrame(a)).toThrow(/malformed frame: attachment past the end/);
  });
});

describe('fuzz: sealed frames', () => {
  it('a sealed frame with any change (bytes flipped, cut, added) fails authentication; the next genuine one still opens', () => {
    fc.assert(
      fc.property(validFrame, mutated(validFrame), (plain, other) => {
        const key = randomBytes(32);
        const sealed = new Sealer(key).seal(plain);
        const opener = new Opener(key);
        if (!other.equals(sealed)) refusedOrOk(() => opener.open(other), ['CHANNEL'], /^frame (shorter than its authentication tag|0 failed authentication)/);
        expect(opener.open(sealed).equals(Buffer.from(plain))).toBe(true);
      }),
      params(),
    );
  }, budget());

  it('refuses replayed, reordered and mutated sealed frames', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { minLength: 2, maxLength: 5 }), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (plains, pick, at, xor) => {
        const key = randomBytes(32);
        const sealer = new Sealer(key);
        const sealed = plains.map((p) => sealer.seal(p));
        const i = pick % sealed.length;
        // Opening frame i first (out of order, unless it is frame 0) or a flipped byte of it fails.
        const tampered = Buffer.from(sealed[i]!);
        const k = at % tampered.length;
        tampered[k] = tampered[k]! ^ xor;
        expect(() => new Opener(key).open(tampered)).toThrow(/failed authentication/);
        if (i > 0) expect(() => new Opener(key).open(sealed[i]!)).toThrow(/frame 0 failed authentication/);
        const opener = new Opener(key);
        opener.open(sealed[0]!);
        expect(() => opener.open(sealed[0]!)).toThrow(/frame 1 failed authentication/); // replayed
      }),
      params(),
    );
  }, budget());
});
