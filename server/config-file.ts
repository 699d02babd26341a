/**
 * `flotilla controller --config <file>`: the controller's options, pools included, from a JSON
 * file or an ES module (.mjs/.js, or .ts/.mts compiled with esbuild) whose default export is
 * them. Checked with the schema `connect({ pools })` and `Controller.start` use, so a misspelt
 * key is an error naming it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { FlotillaError } from '../contract/errors.js';
import { controllerConfigSchema } from './controller-options.js';
import { checkOptions } from '../contract/option-check.js';

/** What a config file holds. */
export type ControllerConfig = z.infer<typeof controllerConfigSchema>;

/** Reads and checks a controller config file. */
export async function loadControllerConfig(file: string): Promise<ControllerConfig> {
  const path = resolve(file);
  const ext = extname(path);
  let value: unknown;
  if (ext === '.json') {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new FlotillaError('BAD_INPUT', `cannot read config file ${path}: ${(err as Error).message}`);
    }
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new FlotillaError('BAD_INPUT', `config file ${path} is not valid JSON: ${(err as Error).message}`);
    }
  } else if (['.mjs', '.js', '.cjs'].includes(ext)) {
    value = await importDefault(path, path);
  } else if (['.ts', '.mts'].includes(ext)) {
    value = await importTypeScript(path);
  } else {
    throw new FlotillaError('BAD_INPUT', `config file ${path}: use .json, .mjs, .js or .ts`);
  }
  return checkOptions(controllerConfigSchema, value, `config file ${basename(path)}`) as ControllerConfig;
}

async function importDefault(path: string, shown: string): Promise<unknown> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `cannot load config file ${shown}: ${(err as Error).message}`, { cause: err });
  }
  if (mod.default === undefined) throw new FlotillaError('BAD_INPUT', `config file ${shown} has no default export: \`export default { pools: { ... } }\``);
  return mod.default;
}

/**
 * A TypeScript config compiled by esbuild (already a dependency, loaded only here) to a module
 * beside it, so its relative imports and packages resolve as they would for the file itself.
 */
async function importTypeScript(path: string): Promise<unknown> {
  const { build } = await import('esbuild');
  let code: string;
  try {
    const out = await build({ entryPoints: [path], bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent' });
    code = out.outputFiles[0]!.text;
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `cannot compile config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.mjs`);
  writeFileSync(tmp, code);
  try {
    return await importDefault(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
