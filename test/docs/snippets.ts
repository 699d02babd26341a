/**
 * Reads the code blocks of the user docs (README.md, docs/*.md) and lays the TypeScript ones out
 * as files that `tsc` checks and `node` runs, so an example in the docs cannot drift from the API.
 *
 * Conventions in the Markdown (see CONTRIBUTING.md, "Documentation snippets"):
 * - ```ts           type-checked only (needs hosts, a cluster or a controller on a fixed port)
 * - ```ts run       type-checked, then run on local agents: it must exit 0
 * - ```ts run controller  run against a `flotilla controller` the test starts (its address
 *                   replaces http://127.0.0.1:7711, its HOME makes ~/.flotilla/token its token)
 * - ```ts run mjs   run as a .mjs file by plain node (the block must be JavaScript too)
 * - ```ts file=a.ts written as a.ts beside the page's snippets (a module other snippets import)
 * - `<!-- prelude ... -->` / `<!-- after ... -->` right before a block: hidden code put before /
 *   after it (declarations it assumes, closing a session, assertions on what it computed).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

/** One fenced block of a Markdown page. */
export interface Snippet {
  /** Page path relative to the repository root, e.g. `docs/flows.md`. */
  page: string;
  /** 1-based line of the block's first code line in the page. */
  line: number;
  /** The info string after the backticks, e.g. `ts run`. */
  info: string;
  lang: string;
  run: boolean;
  /** `file=NAME`: the block is that file. */
  file: string | undefined;
  code: string;
  prelude: string;
  after: string;
}

/** A snippet laid out on disk. */
export interface SnippetFile {
  snippet: Snippet;
  /** Absolute path of the written file. */
  path: string;
  /** Lines put before the block's first line in the file (header and prelude). */
  offset: number;
}

const FENCE = /^(`{3,})\s*([^`]*)$/;
const HIDDEN = /^<!--\s*(prelude|after)\b([\s\S]*?)-->\s*$/;

/** The user-facing pages whose snippets are checked. */
export function docPages(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join('docs', f));
  return ['README.md', ...docs];
}

/** Every fenced block of one page, with the hidden prelude and after code given right before it. */
export function parseSnippets(page: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const out: Snippet[] = [];
  // Hidden code seen since the last block or prose line; attached to the next block.
  let pending: { prelude: string[]; after: string[] } = { prelude: [], after: [] };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('<!--')) {
      // A comment may span lines: gather it to its end.
      let j = i;
      let comment = line;
      while (!comment.includes('-->') && j + 1 < lines.length) comment += '\n' + lines[++j];
      const m = HIDDEN.exec(comment.trim());
      if (m) pending[m[1] as 'prelude' | 'after'].push(m[2]!.replace(/^[ \t]*:?/, '').trim());
      i = j;
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) {
      if (line.trim() !== '' && (pending.prelude.length || pending.after.length)) {
        throw new Error(`${page}:${i + 1}: a hidden prelude/after comment must come right before a code block`);
      }
      continue;
    }
    const ticks = fence[1]!;
    const info = fence[2]!.trim();
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== ticks) end++;
    if (end >= lines.length) throw new Error(`${page}:${i + 1}: code block never closed`);
    const words = info.split(/\s+/).filter(Boolean);
    const lang = words[0] ?? '';
    const file = words.find((w) => w.startsWith('file='))?.slice('file='.length);
    out.push({
      page,
      line: start + 1,
      info,
      lang,
      run: words.includes('run'),
      file,
      code: lines.slice(start, end).join('\n'),
      prelude: pending.prelude.join('\n'),
      after: pending.after.join('\n'),
    });
    pending = { prelude: [], after: [] };
    i = end;
  }
  return out;
}

/** Whether a block is TypeScript the test checks. */
export function isTs(s: Snippet): boolean {
  return s.lang === 'ts' || s.lang === 'typescript';
}

/**
 * Writes every TypeScript snippet of the pages under `dir` (one folder per page, so `file=`
 * modules of a page are found by its other snippets) and a tsconfig listing them.
 */
export function layOut(root: string, dir: string, snippets: Snippet[]): SnippetFile[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files: SnippetFile[] = [];
  for (const s of snippets.filter(isTs)) {
    const folder = join(dir, s.page.replace(/\.md$/, '').replace(/[/\\]/g, '-'));
    mkdirSync(folder, { recursive: true });
    if (s.file !== undefined) {
      if (basename(s.file) !== s.file || !/^[\w.-]+\.ts$/.test(s.file)) throw new Error(`${s.page}:${s.line}: file=${s.file} must be a plain .ts file name`);
      const path = join(folder, s.file);
      writeFileSync(path, s.code + '\n');
      files.push({ snippet: s, path, offset: 0 });
      continue;
    }
    const header = `// ${s.page}:${s.line}`;
    const before = [header, ...(s.prelude ? s.prelude.split('\n') : [])];
    const body = [...before, s.code, '// after', s.after, 'export {};', ''].join('\n');
    const path = join(folder, `snippet-${s.line}.ts`);
    writeFileSync(path, body);
    files.push({ snippet: s, path, offset: before.length });
  }
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      // As strict as what `tsc --init` writes, so the examples compile in a new project as shown.
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true,
      moduleDetection: 'force',
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
    },
    files: files.map((f) => relative(dir, f.path)),
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  return files;
}

/** Rewrites `tsc` diagnostics that name snippet files to name the page and line instead. */
export function mapDiagnostics(output: string, dir: string, files: SnippetFile[]): string {
  const byPath = new Map(files.map((f) => [relative(dir, f.path), f]));
  return output.replace(/^(.+?\.ts)\((\d+),(\d+)\)/gm, (whole, file: string, line: string, col: string) => {
    const f = byPath.get(file) ?? byPath.get(relative(dir, file));
    if (!f) return whole;
    const inBlock = Number(line) - f.offset;
    const where = inBlock >= 1 && inBlock <= f.snippet.code.split('\n').length ? `${f.snippet.page}:${f.snippet.line + inBlock - 1}:${col}` : `${f.snippet.page}:${f.snippet.line} (hidden prelude/after, ${file}:${line})`;
    return where;
  });
}

/** Reads and parses every page. */
export function allSnippets(root: string): Snippet[] {
  return docPages(root).flatMap((p) => parseSnippets(p, readFileSync(join(root, p), 'utf8')));
}
