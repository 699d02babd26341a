/**
 * The house's layering, checked on the source by dependency-cruiser (rules in ./rules.ts): no
 * cycle of run-time imports; the agent imports nothing of the server or the client; contract/
 * imports none of client/, server/, agent/ (the router's type excepted, type-only); the client
 * loads server code only in its embedded loader.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cycleKey, describe as line, violations } from './rules.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tangled = fileURLToPath(new URL('./fixtures/tangled', import.meta.url));

/**
 * Cycles known today and left to the parts that own them; each is named by its modules. A cycle
 * not in this list fails the check; one that is gone may simply be removed from it.
 */
const KNOWN_CYCLES = new Set([
  // The agent's built-in flow-unit function runs rows through the task runner, which looks up
  // builtins to materialise a function: builtins -> flow/unit -> ... -> runner -> materialize.
  'agent/builtins.ts agent/flow/inline.ts agent/flow/run-row.ts agent/flow/unit.ts agent/fn-table.ts agent/materialize.ts agent/runner.ts',
  'agent/builtins.ts agent/flow/pool.ts agent/flow/run-row.ts agent/flow/unit.ts agent/fn-table.ts agent/materialize.ts agent/runner.ts',
  'agent/builtins.ts agent/flow/stages.ts agent/flow/unit.ts agent/materialize.ts',
]);

describe('layering and import cycles', () => {
  it('the code base breaks no layering rule and has no new import cycle', { timeout: 120_000 }, async () => {
    const found = await violations(root);
    const unexpected = found.filter((v) => !(v.cycle?.length && KNOWN_CYCLES.has(cycleKey(v)))).map(line);
    expect([...new Set(unexpected)]).toEqual([]);
  });

  it('the check catches each kind of violation (a deliberately tangled tree)', { timeout: 120_000 }, async () => {
    const found = [...new Set((await violations(tangled)).map(line))].sort();
    expect(found).toEqual([
      'agent-imports-only-agent-and-contract: agent/main.ts -> server/one.ts',
      'client-loads-server-only-embedded: client/helper.ts -> server/one.ts',
      'contract-imports-nothing-of-ours: contract/shared.ts -> client/helper.ts',
      'no-runtime-cycle: server/one.ts server/two.ts',
    ]);
  });
});
