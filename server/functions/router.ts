/**
 * The `functions` procedures of the controller's API: register, list, get, remove. Merged into
 * the app router as `functions`; built by a function called when the app router is (router.ts
 * imports this file and this file its builders, so the import cycle is harmless).
 */
import { fnSpecId } from '../../contract/fnspec.js';
import { functionRefSchema, registerSchema } from '../../contract/schemas.js';
import { authed, router } from '../router.js';

/** The `functions` sub-router. */
export function functionsRouter() {
  return router({
    /** Registers a spec under a name as its latest version; returns the version (its content hash). */
    register: authed.input(registerSchema).mutation(({ ctx, input }) => ctx.controller.functions.register(input.name, { ...input.spec, id: fnSpecId(input.spec) })),
    /** Every version of every registered function. */
    list: authed.query(({ ctx }) => ctx.controller.functions.list()),
    /** One version (the latest by default) in full. */
    get: authed.input(functionRefSchema).query(({ ctx, input }) => ctx.controller.functions.get(input.name, input.version)),
    /** Removes one version, or every version of a name. */
    remove: authed.input(functionRefSchema).mutation(({ ctx, input }) => ctx.controller.functions.remove(input.name, input.version)),
  });
}
