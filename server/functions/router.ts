/**
 * The `functions` procedures of the controller's API: register, list, get, remove. Built by a
 * factory from the app router's own procedure builder (tRPC routers merge only when they share
 * one root), which server/router.ts passes in.
 */
import { z } from 'zod';
import { fnSpecId } from '../../agent/protocol/fnspec.js';
import { fnSpecSchema } from '../schemas.js';

// Names and versions are checked by the registry with the shared schemas, so a bad one gets the
// same sentence however it arrives; here only their size is bounded.
const name = z.string().max(1024);
const version = z.string().max(128).optional();

/** Input of `functions.register`. */
export const registerSchema = z.object({ name, spec: fnSpecSchema });
/** Input of `functions.get` and `functions.remove`. */
export const functionRefSchema = z.object({ name, version });

type Root = typeof import('../router.js').t;
type Authed = typeof import('../router.js').authed;

/** The `functions` sub-router. */
export function functionsRouter(t: Root, authed: Authed) {
  return t.router({
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
