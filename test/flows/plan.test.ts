/**
 * The distribution plan (pure functions): grouping by columns, splitting by chunksPerJob, packing
 * into targetJobs balanced by rows — parade's SLURM-vignette shapes among them.
 */
import { describe, expect, it } from 'vitest';
import { paramGrid } from '../../client/index.js';
import { groupRows, planUnits } from '../../server/flows/plan.js';

const all = (n: number) => Array.from({ length: n }, (_, i) => i);
const sizes = (units: { row: number }[][]) => units.map((u) => u.length);

describe('flow plan', () => {
  it('paramGrid varies the first column slowest', () => {
    expect(paramGrid({ a: [1, 2], b: ['x', 'y'] })).toEqual([{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]);
    expect(paramGrid({ a: [1], b: [] })).toEqual([]);
  });

  it('groups the 12-row subject/session/condition grid by subject into 3 units of 4', () => {
    const rows = paramGrid({ subject: ['s01', 's02', 's03'], session: [1, 2], condition: ['A', 'B'] });
    const groups = groupRows(rows, ['subject']);
    expect(groups).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    const units = planUnits(groups, all(12), { by: ['subject'] });
    expect(sizes(units)).toEqual([4, 4, 4]);
    for (const u of units) expect(new Set(u.map((r) => rows[r.row]!.subject)).size).toBe(1);
  });

  it('splits 1000 trials of one subject into 10 units of 100 consecutive rows (chunksPerJob 100)', () => {
    const rows = paramGrid({ subject: ['subject01'], trial: all(1000).map((i) => i + 1) });
    const units = planUnits(groupRows(rows, ['subject']), all(1000), { by: ['subject'], chunksPerJob: 100 });
    expect(sizes(units)).toEqual(Array(10).fill(100));
    expect(units[3]!.map((r) => r.row)).toEqual(all(100).map((i) => 300 + i));
  });

  it('without by, each row is a unit, or chunksPerJob rows are packed per unit', () => {
    const groups = groupRows(all(7).map((i) => ({ i })), undefined);
    expect(groups).toEqual(all(7));
    expect(sizes(planUnits(groups, all(7), {}))).toEqual(Array(7).fill(1));
    expect(sizes(planUnits(groups, all(7), { chunksPerJob: 3 }))).toEqual([3, 3, 1]);
  });

  it('targetJobs packs units into that many, balanced by rows, never splitting one', () => {
    const rows = [...Array(6).fill('a'), ...Array(3).fill('b'), ...Array(3).fill('c'), ...Array(2).fill('d')].map((g) => ({ g }));
    const groups = groupRows(rows, ['g']);
    const units = planUnits(groups, all(rows.length), { by: ['g'], targetJobs: 2 });
    expect(sizes(units).sort()).toEqual([6, 8]); // 6 | 3+3 then 2 to the first of the tied bins
    for (const u of units) {
      const gs = new Set(u.map((r) => r.group));
      for (const g of gs) expect(u.filter((r) => r.group === g).length).toBe(groups.filter((x) => x === g).length);
      expect(u.map((r) => r.row)).toEqual([...u.map((r) => r.row)].sort((a, b) => a - b));
    }
    // Fewer units than the target: as many as there are.
    expect(planUnits(groups, all(rows.length), { by: ['g'], targetJobs: 10 })).toHaveLength(4);
  });

  it('plans only pending rows, keeping the groups of the whole grid', () => {
    const rows = paramGrid({ s: ['a', 'b'], t: [1, 2, 3] });
    const units = planUnits(groupRows(rows, ['s']), [1, 2, 4], { by: ['s'] });
    expect(units.map((u) => u.map((r) => [r.row, r.group]))).toEqual([[[1, 0], [2, 0]], [[4, 1]]]);
  });

  it('groups by values, not by identity: equal Dates and objects share a group', () => {
    const rows = [{ d: new Date(0), o: { x: 1 } }, { d: new Date(0), o: { x: 1 } }, { d: new Date(1), o: { x: 1 } }];
    expect(groupRows(rows, ['d', 'o'])).toEqual([0, 0, 1]);
  });
});
