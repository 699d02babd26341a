import { describe, expect, it } from 'vitest';
import { launcherKinds } from '../../server/launchers/registry.js';
import { launcherSchemas } from '../../server/launchers/schemas.js';
import { planPools } from '../../server/pool-options.js';

describe('the launcher registry', () => {
  it('registers each kind with the schema that connect() checks', () => {
    expect(Object.keys(launcherKinds)).toEqual(Object.keys(launcherSchemas));
    for (const [word, kind] of Object.entries(launcherKinds)) {
      expect(kind.launcher).toBe(word);
      expect(kind.schema).toBe(launcherSchemas[word as keyof typeof launcherSchemas]);
    }
  });

  it('plans with each kind its defaults: batch pools wait in a queue (no connectTimeout), all their jobs may be queued', () => {
    const plans = planPools({ l: { launcher: 'local', agents: 2 }, s: { launcher: 'slurm', max: 5 }, g: { launcher: 'sge', max: 5, resources: { pe: 'smp', slots: 4, h_rt: '1h', h_vmem: '1G' } } });
    expect(plans.l).toMatchObject({ local: true, connectTimeoutMs: 60_000, maxLaunching: 16 });
    expect(plans.s).toMatchObject({ local: false, connectTimeoutMs: undefined, maxLaunching: 5 });
    expect(plans.g).toMatchObject({ local: false, connectTimeoutMs: undefined, maxLaunching: 5, slots: 4, walltimeMs: 3_600_000, slot: { cores: 1, memoryMb: 1024 } });
  });

  it("cores: 'all' leaves the slots to the agent (from what its job got)", () => {
    const { g } = planPools({ g: { launcher: 'sge', max: 2, cores: 'all', resources: { pe: 'smp', slots: 8 } } });
    expect(g).toMatchObject({ slots: undefined, slot: { cores: undefined } });
  });

  it('a misspelt key of any kind names the nearest; a bad polite value names the option', () => {
    expect(() => planPools({ g: { launcher: 'sge', nicee: 10 } as never })).toThrow(/pools\.g\.nicee is not an option \(did you mean nice\?\)/);
    expect(() => planPools({ s: { launcher: 'slurm', resources: { partiton: 'debug' } } as never })).toThrow(/pools\.s\.resources\.partiton is not an option \(did you mean partition\?\)/);
    expect(() => planPools({ g: { launcher: 'sge', nice: -3 } })).toThrow(/pools\.g\.nice must be an integer from 0 to 1023/);
    expect(() => planPools({ g: { launcher: 'sge', begin: 'soonish' } })).toThrow(/pools\.g\.begin must be a time like '22:00'/);
    expect(() => planPools({ g: { launcher: 'sge', exclude: ['a b'] } })).toThrow(/pools\.g\.exclude/);
    expect(() => planPools({ x: { launcher: 'pbs' } as never })).toThrow(/pools\.x\.launcher.*'local', 'ssh', 'slurm' or 'sge'/);
  });
});
