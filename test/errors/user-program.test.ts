/**
 * What a user's program sees, run as a real child process (plain ESM against dist/, real local
 * agents): globals by reference, mistakes caught at submit, and stacks that name the user's file
 * and lines rather than flotilla's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const program = fileURLToPath(new URL('./fixtures/user-program.mjs', import.meta.url));
const text = readFileSync(program, 'utf8').split('\n');
/** The 1-based line and column of a marked statement's first non-blank character. */
const mark = (name: string) => {
  const i = text.findIndex((l) => l.includes(`// MARK:${name}`));
  return { line: i + 1, column: text[i]!.search(/\S/) + 1 };
};

let out: Record<string, any>;
beforeAll(async () => {
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [program], { timeout: 120_000 }, (err, so, se) => (err ? reject(new Error(`${err.message}\n${se}`)) : resolve(so))),
  );
  out = JSON.parse(stdout.trim().split('\n').pop()!);
}, 150_000);

describe('globals that are module exports', () => {
  it('readFileSync, a builtin module (path) and an npm export (zod z) travel by reference and run', () => {
    expect(out.refs).toEqual([[readFileSync('/etc/hostname', 'utf8').length, 'hostname', 'zod ok']]);
  });

  it('a flow stage gets a builtin global by reference too', () => {
    expect(out.flowRefs).toEqual([['ok', 'hostname']]);
  });

  it('a name imported from a module but not given says it travels by reference when given', () => {
    expect(out.missing.code).toBe('BAD_INPUT');
    expect(out.missing.message).toContain('pass it in globals');
    expect(out.missing.message).toContain("\"readFileSync\" is imported from 'node:fs'");
  });

  it('import.meta in an inline task fails at submit, and no job is created', () => {
    expect(out.meta.code).toBe('BAD_INPUT');
    expect(out.meta.message).toContain('import.meta');
    expect(out.metaJobs).toBe(0);
  });
});

describe('remote stacks', () => {
  it("an inline function's frame names the user's file and the line (and column) where it threw", () => {
    const { line, column } = mark('throw');
    const throwCol = text[line - 1]!.indexOf('new Error') + 1;
    expect(out.inline.stack).toContain(`user-program.mjs:${line}:${throwCol}`);
    expect(column).toBeGreaterThan(0);
    expect(out.inline.stack).not.toMatch(/agent\.mjs|eval at|<anonymous>:\d|node:internal/);
  });

  it("custom properties of the user's error survive to the client", () => {
    expect(out.inline.props).toEqual({ code: 'E_ROW', detail: { row: { bad: true } } });
  });

  it("in TypeScript run by tsx (transpiled, whitespace stripped) the frame still names the line in the .ts file", async () => {
    const ts = fileURLToPath(new URL('./fixtures/user-program-ts.ts', import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', ts], { timeout: 120_000 }, (err, so, se) => (err ? reject(new Error(`${err.message}\n${se}`)) : resolve(so))),
    );
    const { stack } = JSON.parse(stdout.trim().split('\n').pop()!) as { stack: string };
    const line = readFileSync(ts, 'utf8').split('\n').findIndex((l) => l.includes('// MARK:ts-throw')) + 1;
    expect(stack).toContain('RangeError: row 7 is bad');
    expect(stack).toContain(`user-program-ts.ts:${line}`);
  }, 150_000);

  it("a function global's frame names its own line", () => {
    expect(out.helper.stack).toMatch(/TypeError: Cannot read properties of undefined/);
    expect(out.helper.stack).toContain(`user-program.mjs:${mark('helper').line}:`);
  });

  it("a rejected clusterMap's stack starts at the user's call, and its cause holds the remote stack", () => {
    const first = out.top.stack.split('\n')[1];
    expect(first).toContain(`user-program.mjs:${mark('call').line}:`);
    expect(out.top.stack).not.toMatch(/dist\/(client|server)|node:internal/);
    expect(out.top.cause).toContain('Error: top');
    expect(out.top.cause).toContain(`user-program.mjs:${mark('call').line}:`);
  });

  it("a rejected fl.map's stack starts at the user's call, not in flotilla", () => {
    const first = out.mapTop.stack.split('\n')[1];
    expect(first).toContain(`user-program.mjs:${mark('map-call').line}:`);
    expect(out.mapTop.stack).not.toMatch(/dist\/(client|server)|node:internal/);
  });
});
