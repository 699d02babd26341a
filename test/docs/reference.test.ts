/**
 * The reference pages keep up with the code: every public export of 'flotilla' and
 * 'flotilla/server' is described in docs/api.md, and every CLI command and flag that
 * `flotilla ... --help` prints is in docs/cli.md.
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../lifecycle/helpers.js';
import { docPages } from './snippets.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** Names an index file exports: `export { a, b as c }` and `export type { ... }` lists. */
function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/^export (?:type )?\{([^}]+)\}/gm)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop()!.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

const CLI = join(ROOT, 'dist', 'server', 'cli.js');
const help = async (args: string[]) => (await execa('node', [CLI, ...args, '--help'])).stdout;

/** The command names listed under "Commands:" in a commander help text. */
function commandsOf(text: string): string[] {
  const section = text.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Anchors of a Markdown page's headings (outside code blocks). */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^```/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) out.add(slug(m[1]!));
  }
  return out;
}

describe('reference pages', () => {
  it('every relative link of README, CONTRIBUTING and docs/ reaches a file, and its anchor a heading', () => {
    const broken: string[] = [];
    let links = 0;
    for (const page of [...docPages(ROOT), 'CONTRIBUTING.md']) {
      const text = read(page).replace(/^```[\s\S]*?^```/gm, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // http(s), mailto
        links++;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const path = file === '' ? page : normalize(join(dirname(page), file));
        if (!existsSync(join(ROOT, path))) {
          broken.push(`${page}: ${target} (no file ${path})`);
          continue;
        }
        if (anchor && path.endsWith('.md') && !anchors(read(path)).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${path})`);
      }
    }
    expect(links).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });

  it('docs/api.md describes every export of flotilla and flotilla/server', () => {
    const api = read('docs/api.md');
    const names = [...exportedNames(read('client/index.ts')), ...exportedNames(read('server/index.ts'))];
    expect(names.length).toBeGreaterThan(50);
    const missing = [...new Set(names)].filter((n) => !new RegExp(`\\b${n}\\b`).test(api));
    expect(missing, 'exports missing from docs/api.md').toEqual([]);
  });

  it('docs/cli.md names every command and flag of the CLI', async () => {
    const cli = read('docs/cli.md');
    const missing: string[] = [];
    const seen = { commands: 0, flags: new Set<string>() };
    const visit = async (path: string[]) => {
      const text = await help(path);
      seen.commands++;
      if (path.length > 0 && !cli.includes(`flotilla ${path.join(' ')}`)) missing.push(`command: flotilla ${path.join(' ')}`);
      for (const flag of new Set([...text.matchAll(/(?:^|[\s,])(--[a-z][\w-]*)/g)].map((m) => m[1]!))) {
        seen.flags.add(flag);
        if (flag !== '--help' && !cli.includes(flag)) missing.push(`flag: flotilla ${path.join(' ')} ${flag}`);
      }
      for (const c of commandsOf(text)) await visit([...path, c]);
    };
    await visit([]);
    expect(seen.commands).toBeGreaterThan(15);
    expect(seen.flags.size).toBeGreaterThan(10);
    expect(missing, 'missing from docs/cli.md').toEqual([]);
  }, 120_000);
});
