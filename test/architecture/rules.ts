/**
 * The layering rules of the code base, for dependency-cruiser: one direction of dependency
 * (client -> server -> agent/protocol -> contract, each may use contract/), and no cycles of
 * run-time imports.
 */
import { cruise } from 'dependency-cruiser';
import type { IForbiddenRuleType, IViolation } from 'dependency-cruiser';
import extractTsConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { join } from 'node:path';

/** Imports erased at run time: they order nothing and load nothing. */
const TYPE_ONLY = ['type-only', 'type-import', 'pre-compilation-only'] as const;
/**
 * A dynamic import() runs after the importing module has finished loading, so a cycle through one
 * cannot see a module half-initialised: only static run-time imports make a cycle.
 */
const LAZY = [...TYPE_ONLY, 'dynamic-import'] as const;

export const RULES: IForbiddenRuleType[] = [
  {
    name: 'no-runtime-cycle',
    comment: 'a cycle of static run-time imports: modules that see each other half-initialised',
    severity: 'error',
    from: {},
    to: { circular: true, dependencyTypesNot: [...LAZY], viaOnly: { dependencyTypesNot: [...LAZY] } },
  },
  {
    name: 'agent-imports-only-agent-and-contract',
    comment: 'the agent bundle carries nothing of the server or the client',
    severity: 'error',
    from: { path: '^agent/' },
    to: { path: '^(server|client)/' },
  },
  {
    name: 'contract-imports-nothing-of-ours',
    comment: 'contract/ is what every side stands on; it imports none of them',
    severity: 'error',
    from: { path: '^contract/', pathNot: '^contract/api\\.ts$' },
    to: { path: '^(server|client|agent)/' },
  },
  {
    name: 'contract-api-is-type-only',
    comment: "contract/api.ts re-exports the router's type, erased at run time; nothing else",
    severity: 'error',
    from: { path: '^contract/api\\.ts$' },
    to: { path: '^(server|client|agent)/', dependencyTypesNot: [...TYPE_ONLY] },
  },
  {
    name: 'client-loads-server-only-embedded',
    comment: 'only client/embedded.ts and client/embedded-start.ts (imported dynamically by connect()) load server code',
    severity: 'error',
    from: { path: '^client/', pathNot: '^client/embedded(-start)?\\.ts$' },
    to: { path: '^server/', dependencyTypesNot: [...TYPE_ONLY] },
  },
  {
    name: 'server-uses-only-client-remote',
    comment: 'the CLI reaches a running controller the way a client does (client/remote/); no other server code uses the client',
    severity: 'error',
    from: { path: '^server/' },
    to: { path: '^client/', pathNot: '^client/remote/' },
  },
];

/** The rules' violations in the tree under `baseDir` (its client/, server/, agent/, contract/). */
export async function violations(baseDir: string): Promise<IViolation[]> {
  const tsConfig = join(baseDir, 'tsconfig.json');
  const result = await cruise(
    ['client', 'server', 'agent', 'contract'],
    {
      baseDir,
      tsPreCompilationDeps: true,
      tsConfig: { fileName: tsConfig },
      doNotFollow: { path: 'node_modules' },
      exclude: { path: 'node_modules' },
      validate: true,
      ruleSet: { forbidden: RULES },
    },
    {},
    { tsConfig: extractTsConfig(tsConfig) },
  );
  if (typeof result.output === 'string') throw new Error(`dependency-cruiser returned text: ${result.output.slice(0, 200)}`);
  return result.output.summary.violations;
}

/** One line per violation: the rule, and the import (or the cycle's modules, sorted). */
export function describe(v: IViolation): string {
  if (v.cycle?.length) return `${v.rule.name}: ${cycleKey(v)}`;
  return `${v.rule.name}: ${v.from} -> ${v.to}`;
}

/** A cycle named by its modules, whichever of them the report starts from. */
export function cycleKey(v: IViolation): string {
  return [...new Set([v.from, ...(v.cycle ?? []).map((c) => c.name)])].sort().join(' ');
}
