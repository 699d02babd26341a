/**
 * The call site a map keeps for its errors: captured from the public entry on, so flotilla's own
 * frames take none of the frames kept, and the app's call comes first.
 */
import { describe, expect, it } from 'vitest';
import { captureCallSite, firstUserFrame, locateError, userFrames } from '../../client/call-site.js';

/** Stands in for a public entry such as Session.map: it captures from itself on. */
function entry(): ReturnType<typeof captureCallSite> {
  return inner();
}
function inner(): ReturnType<typeof captureCallSite> {
  return captureCallSite(entry);
}

/** A chain of app functions `depth` deep that calls the entry at its bottom. */
function appChain(depth: number): ReturnType<typeof captureCallSite> {
  return depth === 0 ? entry() : appChain(depth - 1);
}

describe('call site', () => {
  it('starts at the line that called the public entry: the entry and what it calls are left out', () => {
    const line = new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]!;
    const site = entry(); // the line after the one measured above
    const frames = userFrames(site);
    expect(frames[0]).toContain(`call-site.test.ts:${Number(line) + 1}:`);
    expect(site.stack).not.toMatch(/\bat (entry|inner|captureCallSite)\b/);
    expect(firstUserFrame(site)?.line).toBe(Number(line) + 1);
  });

  it("keeps ten of the app's frames however deep the entry is called, and restores the stack trace limit", () => {
    const limit = Error.stackTraceLimit;
    const site = appChain(30);
    expect(Error.stackTraceLimit).toBe(limit);
    const frames = site.stack!.split('\n').filter((l) => /^\s+at /.test(l));
    expect(frames).toHaveLength(10);
    expect(frames.every((f) => f.includes('appChain'))).toBe(true);
  });

  it("gives an error a stack that starts at the app's call", () => {
    const site = entry();
    const err = locateError(new Error('boom'), site);
    expect(err.stack!.split('\n')[0]).toBe('Error: boom');
    expect(err.stack!.split('\n')[1]).toContain('call-site.test.ts:');
  });
});
