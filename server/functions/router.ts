/**
 * The `functions` procedures of the controller's API: register, list, get, remove. Merged into
 * the app router as `functions`; built by a function called when the app router is (router.ts
 * imports this file and this file its builders, so the import cycle is harmless).
 */
import { z } from 'zod';
import { fnSpecId } from '../../contract/fnspec.js';
import { fnSpecSchema } from '../schemas.js';
import { authed, router } from '../router.js';

// Names and versions are checked by the registry with the shared schemas, so a bad one gets the
// same sentence however it arrives; here only their size is bounded.
const name = z.string().max(1024);
const version = z.string().max(128).optional();

/** Input of `functions.register`. */
export const registerSchema = z.object({ name, spec: fnSpecSchema });
/** Input of `functions.get` and `functions.remove`. */
export const functionRefSchema = z.object({ name, version });

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
