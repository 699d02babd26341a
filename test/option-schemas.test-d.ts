/**
 * The option schemas (which reject unknown keys at run time) and the option declarations in
 * contract/ (what TypeScript users see) agree: the same keys, and every value one accepts the
 * other accepts. An option added to one and not the other, or typed differently, fails here.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { ConnectOptions, ControllerOptions, LocalPoolOptions, PoolOptions, SgePoolOptions, SlurmPoolOptions, SshPoolOptions } from '../client/index.js';
import type { controllerConfigSchema, controllerOptionsSchema } from '../server/controller-options.js';
import type { poolOptionsSchema } from '../server/pool-schema.js';
import type { launcherKinds, RegisteredPoolOptions } from '../server/launchers/registry.js';
import type { launcherSchemas } from '../server/launchers/schemas.js';

type Schema<S extends z.ZodType> = z.input<S>;
type PoolSchema = Schema<typeof poolOptionsSchema>;
type KeysOf<T> = T extends unknown ? keyof T : never;
type Kind<K extends keyof typeof launcherSchemas> = Schema<(typeof launcherSchemas)[K]>;

describe('option schemas and declarations agree', () => {
  it('controller options', () => {
    expectTypeOf<keyof Schema<typeof controllerOptionsSchema>>().toEqualTypeOf<keyof ControllerOptions>();
    expectTypeOf<keyof Schema<typeof controllerConfigSchema>>().toEqualTypeOf<Exclude<keyof ControllerOptions, 'embedded' | 'log'>>();
    expectTypeOf<ControllerOptions>().toExtend<Schema<typeof controllerOptionsSchema>>();
    expectTypeOf<Schema<typeof controllerOptionsSchema>>().toExtend<ControllerOptions>();
  });

  it("each launcher's pool options: the same keys, each value accepted by both", () => {
    expectTypeOf<keyof Kind<'local'>>().toEqualTypeOf<keyof LocalPoolOptions>();
    expectTypeOf<keyof Kind<'ssh'>>().toEqualTypeOf<keyof SshPoolOptions>();
    expectTypeOf<keyof Kind<'slurm'>>().toEqualTypeOf<keyof SlurmPoolOptions>();
    expectTypeOf<KeysOf<NonNullable<Kind<'slurm'>['resources']>>>().toEqualTypeOf<keyof NonNullable<SlurmPoolOptions['resources']>>();
    expectTypeOf<KeysOf<NonNullable<Kind<'slurm'>['ssh']>>>().toEqualTypeOf<keyof NonNullable<SlurmPoolOptions['ssh']>>();
    expectTypeOf<keyof Kind<'sge'>>().toEqualTypeOf<keyof SgePoolOptions>();
    expectTypeOf<KeysOf<NonNullable<Kind<'sge'>['resources']>>>().toEqualTypeOf<keyof NonNullable<SgePoolOptions['resources']>>();
    expectTypeOf<LocalPoolOptions>().toExtend<Kind<'local'>>();
    expectTypeOf<Kind<'local'>>().toExtend<LocalPoolOptions>();
    expectTypeOf<SshPoolOptions>().toExtend<Kind<'ssh'>>();
    expectTypeOf<Kind<'ssh'>>().toExtend<SshPoolOptions>();
    expectTypeOf<SlurmPoolOptions>().toExtend<Kind<'slurm'>>();
    expectTypeOf<Kind<'slurm'>>().toExtend<SlurmPoolOptions>();
    expectTypeOf<SgePoolOptions>().toExtend<Kind<'sge'>>();
    expectTypeOf<Kind<'sge'>>().toExtend<SgePoolOptions>();
    expectTypeOf<PoolOptions>().toExtend<PoolSchema>();
    expectTypeOf<PoolSchema>().toExtend<PoolOptions>();
  });

  it('the registry and the schema list name the same kinds, and the registered kinds take the declared options', () => {
    expectTypeOf<keyof typeof launcherKinds>().toEqualTypeOf<keyof typeof launcherSchemas>();
    expectTypeOf<PoolOptions['launcher']>().toEqualTypeOf<keyof typeof launcherKinds>();
    expectTypeOf<RegisteredPoolOptions>().toEqualTypeOf<PoolOptions>();
  });

  it('connect() options', () => {
    expectTypeOf<keyof ConnectOptions>().toEqualTypeOf<'url' | 'token' | 'tokenFile' | 'fingerprint' | 'pools' | 'controller' | 'waitForAgents' | 'waitForAgentsTimeoutMs'>();
  });
});
