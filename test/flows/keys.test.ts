/**
 * Cache keys and the stage graph: keys change with what a stage runs, its row and what it needs,
 * and not with key order; duplicate names, unknown needs and cycles are named.
 */
import { describe, expect, it } from 'vitest';
import { shipFunction } from '../../client/index.js';
import type { FlowStageDef } from '../../contract/flow-unit.js';
import { cacheKeys, rowHash } from '../../server/flows/keys.js';
import { graphProblems, orderStages } from '../../server/flows/graph.js';

const fnStage = (name: string, fn: Function, needs: string[] = []): FlowStageDef => ({ name, needs, fn: shipFunction(fn) });

describe('flow cache keys', () => {
  it('depend on the row params but not their key order', () => {
    expect(rowHash({ a: 1, b: 'x' })).toBe(rowHash({ b: 'x', a: 1 }));
    expect(rowHash({ a: 1, b: 'x' })).not.toBe(rowHash({ a: 2, b: 'x' }));
    expect(rowHash({ a: new Date(5) })).not.toBe(rowHash({ a: '1970-01-01T00:00:00.005Z' }));
  });

  it('change with the stage function, and with the keys of needed stages', () => {
    const pre1 = fnStage('pre', (r: { a: number }) => r.a);
    const pre2 = fnStage('pre', (r: { a: number }) => r.a + 1);
    const fit = fnStage('fit', (r: { pre: number }) => r.pre * 2, ['pre']);
    const rows = [rowHash({ a: 1 }), rowHash({ a: 2 })];
    const k1 = cacheKeys([pre1, fit], rows);
    const k2 = cacheKeys([pre2, fit], rows);
    expect(k1[0]![0]).not.toBe(k1[1]![0]);
    expect(k1[0]![0]).not.toBe(k2[0]![0]);
    expect(k1[0]![1]).not.toBe(k2[0]![1]); // same fit function, different upstream
    expect(cacheKeys([pre1, fit], rows)).toEqual(k1);
  });

  it('of a command stage change with its template, folder and environment', () => {
    const rows = [rowHash({ a: 1 })];
    const key = (s: Partial<FlowStageDef>) => cacheKeys([{ name: 'c', needs: [], cmd: ['echo', '{a}'], ...s }], rows)[0]![0];
    expect(key({})).toBe(key({}));
    expect(key({ cmd: ['echo', '{a}', 'x'] })).not.toBe(key({}));
    expect(key({ cwd: '/tmp' })).not.toBe(key({}));
    expect(key({ env: { X: '1' } })).not.toBe(key({}));
  });
});

describe('flow stage graph', () => {
  it('orders stages after what they need', () => {
    expect(orderStages([{ name: 'b', needs: ['a'] }, { name: 'a', needs: [] }, { name: 'c', needs: ['b', 'a'] }]).map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('names duplicates, unknown needs and cycles', () => {
    expect(graphProblems([{ name: 'a', needs: [] }, { name: 'a', needs: [] }])).toEqual(['stage "a" is defined twice']);
    expect(graphProblems([{ name: 'a', needs: ['zz'] }])[0]).toMatch(/stage "a" needs "zz", which is not a stage/);
    expect(graphProblems([{ name: 'a', needs: ['b'] }, { name: 'b', needs: ['c'] }, { name: 'c', needs: ['a'] }])).toEqual(['stages form a cycle: a -> b -> c -> a']);
    expect(() => orderStages([{ name: 'a', needs: ['a'] }])).toThrow(/needs itself/);
  });
});
