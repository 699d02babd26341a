/** A session runner's open jobs (client/open-list.ts): close reaches each exactly once, however they came and went. */
import { describe, expect, it } from 'vitest';
import { OpenList } from '../../client/open-list.js';
import type { OpenNode } from '../../client/open-list.js';
import { FlotillaError } from '../../contract/errors.js';

const node = (name: string, aborted: string[]): OpenNode => ({ abort: () => void aborted.push(name), prevOpen: undefined, nextOpen: undefined });

describe('OpenList', () => {
  it('close aborts every node still listed once, after removals at the head, the middle and the end and of nodes never listed', () => {
    const aborted: string[] = [];
    const list = new OpenList();
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((n) => node(n, aborted)) as [OpenNode, OpenNode, OpenNode, OpenNode, OpenNode];
    for (const n of [a, b, c, d]) list.add(n);
    list.delete(b); // middle
    list.delete(d); // head (the newest)
    list.delete(a); // end (the oldest)
    list.delete(a); // again: nothing
    list.delete(e); // never listed: nothing
    list.add(e);
    const err = new FlotillaError('CLOSED', 'closed');
    for (const n of list.all()) {
      n.abort(err);
      list.delete(n); // as an aborted job leaves the list
    }
    expect(aborted.sort()).toEqual(['c', 'e']);
    expect(list.all()).toEqual([]);
  });
});
