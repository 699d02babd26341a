/**
 * The option schemas (which reject unknown keys at run time) and the option interfaces (what
 * TypeScript users see) list the same keys: an option added to one and not the other fails here.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { ConnectOptions, ControllerOptions, PoolOptions } from '../client/index.js';
import type { controllerConfigSchema, controllerOptionsSchema } from '../server/controller-options.js';
import type { poolOptionsSchema } from '../server/pool-schema.js';
import type { SlurmPoolOptions } from '../server/launchers/slurm/options.js';
import type { SgePoolOptions } from '../server/launchers/sge/options.js';
import type { launcherKinds } from '../server/launchers/registry.js';
import type { launcherSchemas } from '../server/launchers/schemas.js';

type Schema<S extends z.ZodType> = z.infer<S>;
type PoolSchema = Schema<typeof poolOptionsSchema>;
type KeysOf<T> = T extends unknown ? keyof T : never;

describe('option schemas and interfaces agree', () => {
  it('controller options', () => {
    expectTypeOf<keyof Schema<typeof controllerOptionsSchema>>().toEqualTypeOf<keyof ControllerOptions>();
    expectTypeOf<keyof Schema<typeof controllerConfigSchema>>().toEqualTypeOf<Exclude<keyof ControllerOptions, 'embedded' | 'log'>>();
  });

  it('each launcher\'s pool options', () => {
    expectTypeOf<keyof Extract<PoolSchema, { launcher: 'local' }>>().toEqualTypeOf<keyof Extract<PoolOptions, { launcher: 'local' }>>();
    expectTypeOf<keyof Extract<PoolSchema, { launcher: 'ssh' }>>().toEqualTypeOf<keyof Extract<PoolOptions, { launcher: 'ssh' }>>();
    expectTypeOf<keyof Extract<PoolSchema, { launcher: 'slurm' }>>().toEqualTypeOf<keyof SlurmPoolOptions>();
    expectTypeOf<KeysOf<NonNullable<Extract<PoolSchema, { launcher: 'slurm' }>['resources']>>>().toEqualTypeOf<keyof NonNullable<SlurmPoolOptions['resources']>>();
    expectTypeOf<KeysOf<NonNullable<Extract<PoolSchema, { launcher: 'slurm' }>['ssh']>>>().toEqualTypeOf<keyof NonNullable<SlurmPoolOptions['ssh']>>();
    expectTypeOf<keyof Extract<PoolSchema, { launcher: 'sge' }>>().toEqualTypeOf<keyof SgePoolOptions>();
    expectTypeOf<KeysOf<NonNullable<Extract<PoolSchema, { launcher: 'sge' }>['resources']>>>().toEqualTypeOf<keyof NonNullable<SgePoolOptions['resources']>>();
  });

  it('the registry and the schema list name the same kinds, and PoolOptions is derived from them', () => {
    expectTypeOf<keyof typeof launcherKinds>().toEqualTypeOf<keyof typeof launcherSchemas>();
    expectTypeOf<PoolOptions['launcher']>().toEqualTypeOf<keyof typeof launcherKinds>();
  });

  it('connect() options', () => {
    expectTypeOf<keyof ConnectOptions>().toEqualTypeOf<'url' | 'token' | 'tokenFile' | 'fingerprint' | 'pools' | 'controller' | 'waitForAgents' | 'waitForAgentsTimeoutMs'>();
  });
});
