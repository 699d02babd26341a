import { describe, expect, it } from 'vitest';
import { Lane } from '../../server/lane.js';
import type { SecureChannel } from '../../agent/protocol/channel.js';

const hello = { lane: 0, host: 'h', pid: 1, node: 'v20', platform: 'linux-x64' };
// The window is the lane's own bookkeeping: no message goes through its channel here.
const lane = () => new Lane({} as SecureChannel, 'a', 'p', hello);

describe("a lane's prefetch window", () => {
  it('is 2 ms of estimated work until a round trip is measured', () => {
    const l = lane();
    l.runs.add(1);
    expect(l.windowMs).toBe(2);
    expect(l.accepts(1.5)).toBe(true);
    expect(l.accepts(2.5)).toBe(false);
  });

  it('grows to two measured round trips on a slow or loaded link, up to 50 ms, and shrinks back', () => {
    const l = lane();
    l.runs.add(1);
    for (let i = 0; i < 30; i++) l.observeRoundTrip(10);
    expect(l.windowMs).toBeCloseTo(20, 0);
    expect(l.accepts(15)).toBe(true);
    for (let i = 0; i < 30; i++) l.observeRoundTrip(500);
    expect(l.windowMs).toBe(50);
    for (let i = 0; i < 60; i++) l.observeRoundTrip(0.1);
    expect(l.windowMs).toBe(2);
  });

  it('never queues a task of unknown duration behind another', () => {
    const l = lane();
    for (let i = 0; i < 30; i++) l.observeRoundTrip(10);
    expect(l.accepts(Infinity)).toBe(true); // an empty lane takes anything
    l.runs.add(1);
    expect(l.accepts(Infinity)).toBe(false);
  });
});
