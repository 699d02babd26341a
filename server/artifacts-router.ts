/**
 * tRPC procedures for module artifacts: a client asks which it must upload, then uploads only
 * those, before submitting the job that needs them. Merged into the app router as `artifacts`.
 */
import { z } from 'zod';
import { authed, router } from './trpc.js';

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest');
/** Largest artifact accepted: a bundle this size is a mistake (data belongs in arguments). */
export const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;

/**
 * Built when the app router is (router.ts imports this file and this file its builders: a
 * function, not a top-level value, so the import cycle is harmless).
 */
export function artifactsRouter() {
  return router({
    /** Which of these artifacts the controller lacks. */
    missing: authed.input(z.object({ hashes: z.array(hash).max(1024) })).query(({ ctx, input }) => ctx.plane.artifacts.missing(input.hashes)),
    /** Stores an artifact; its code must hash to its name. */
    put: authed.input(z.object({ hash, code: z.string().max(MAX_ARTIFACT_BYTES) })).mutation(({ ctx, input }) => {
      ctx.plane.artifacts.put(input.hash, input.code);
      return { stored: input.hash };
    }),
  });
}
