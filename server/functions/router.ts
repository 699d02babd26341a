/**
 * The `functions` procedures of the controller's API: register, list, get, remove. Merged into
 * the app router as `functions`; its builders come from server/trpc.ts.
 */
import { fnSpecId } from '../../contract/fnspec.js';
import { functionRefSchema, registerSchema } from '../../contract/schemas.js';
import { authed, router } from '../trpc.js';

/** The `functions` sub-router. */
export function functionsRouter() {
  return router({
    /** Registers a spec under a name as its latest version; returns the version (its content hash). */
    register: authed.input(registerSchema).mutation(({ ctx, input }) => ctx.plane.functions.register(input.name, { ...input.spec, id: fnSpecId(input.spec) })),
    /** Every version of every registered function. */
    list: authed.query(({ ctx }) => ctx.plane.functions.list()),
    /** One version (the latest by default) in full. */
    get: authed.input(functionRefSchema).query(({ ctx, input }) => ctx.plane.functions.get(input.name, input.version)),
    /** Removes one version, or every version of a name. */
    remove: authed.input(functionRefSchema).mutation(({ ctx, input }) => ctx.plane.functions.remove(input.name, input.version)),
  });
}
