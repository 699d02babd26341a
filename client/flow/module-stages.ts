/**
 * Module-export stages of a flow: each is bundled and its artifact uploaded to the controller
 * (through the session, as `map` does), giving the FnSpec the unit carries. A module that does
 * not build, lacks the export or is given globals is a problem of its stage, reported with the rest.
 */
import type { FnSpec } from '../../contract/fnspec.js';
import { FlotillaError } from '../../contract/errors.js';
import type { FlowProblem } from '../../contract/flow-types.js';
import { isModuleFunction } from '../module/handle.js';
import type { Session } from '../session.js';
import type { StageDecl } from './wire.js';

/** Specs of the module stages by stage name, and the problems of those that could not be built. */
export async function buildModuleStages(session: Session, stages: readonly StageDecl[]): Promise<{ specs: Map<string, FnSpec>; problems: FlowProblem[] }> {
  const specs = new Map<string, FnSpec>();
  const problems: FlowProblem[] = [];
  for (const s of stages) {
    if (!isModuleFunction(s.fn)) continue;
    if (s.globals && Object.keys(s.globals).length > 0) {
      problems.push({ stage: s.name, message: 'a module stage takes its names from its own imports; globals are for inline stages' });
      continue;
    }
    try {
      specs.set(s.name, await session.prepareFunction(s.fn));
    } catch (err) {
      const e = FlotillaError.from(err, 'BAD_INPUT');
      // The session's own failures (closed, controller gone) are not problems of the flow.
      if (e.code !== 'BAD_INPUT' && e.code !== 'VERSION_SKEW') throw e;
      problems.push({ stage: s.name, message: e.message });
    }
  }
  return { specs, problems };
}
