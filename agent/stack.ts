/**
 * Remote stacks that point at the user's code: frames of shipped source (evaluated under a
 * `//# sourceURL=flotilla-fn-<id>`) are mapped back to the file and line where the function was
 * defined, and the agent's own frames (its bundle, Node internals) are dropped.
 */
import { fileURLToPath } from 'node:url';
import type { SourceOrigin } from '../contract/fnspec.js';

/** The script name shipped source is evaluated under; frames carry it with line and column. */
export const SOURCE_URL_PREFIX = 'flotilla-fn-';

/** One part of a materialized script: a function's source and where its lines start. */
export interface ScriptPart {
  /** How it is named when its origin is not known, e.g. `the shipped function`. */
  what: string;
  /** Line of the script (as V8 counts in frames) where the source's first line is. */
  start: number;
  lines: number;
  origin?: SourceOrigin;
  /** Offset in the source where each of its lines starts, for origins with a line table. */
  lineStarts?: number[];
}

const MAX_LAYOUTS = 512;
const layouts = new Map<string, ScriptPart[]>();

/** Records how the script named `id` is laid out, so its frames can be mapped. */
export function registerLayout(id: string, parts: ScriptPart[]): void {
  layouts.delete(id);
  layouts.set(id, parts);
  if (layouts.size > MAX_LAYOUTS) layouts.delete(layouts.keys().next().value as string);
}

// This file is bundled into the agent: its URL is the bundle's (or, in tests, agent/'s own). The
// bundle's inline source map names its sources relative to it (../agent/*.ts, ../node_modules/).
const here = import.meta.url;
const ownDirs = here.endsWith('.mjs') ? [here, new URL('../agent/', here).href, new URL('../node_modules/', here).href] : [new URL('./', here).href];
const OWN = ownDirs.flatMap((d) => [d, safePath(d)]).filter((s): s is string => !!s);

function safePath(url: string): string | undefined {
  try {
    return fileURLToPath(url);
  } catch {
    return undefined;
  }
}

const FRAME = new RegExp(`^(\\s+at )(?:(.*?) \\()?${SOURCE_URL_PREFIX}([0-9a-f]+):(\\d+):(\\d+)\\)?$`);

/**
 * The stack with shipped-source frames mapped to the user's file and flotilla's frames dropped.
 * Lines that are not frames (the header, a multi-line message) are kept as they are.
 */
export function cleanStack(stack: string | undefined): string | undefined {
  if (!stack) return stack;
  const out: string[] = [];
  for (const line of stack.split('\n')) {
    if (!/^\s+at /.test(line)) {
      out.push(line);
      continue;
    }
    const m = FRAME.exec(line);
    if (m) {
      out.push(mapFrame(m[1]!, m[2], m[3]!, Number(m[4]), Number(m[5])));
      continue;
    }
    if (line.includes('node:internal') || line.includes('new Promise (<anonymous>)') || OWN.some((o) => line.includes(o))) continue;
    out.push(line);
  }
  // Node's own frames below the user's last one are the agent's event plumbing.
  while (out.length > 1 && /^\s+at .*\(node:[^)]*\)$/.test(out[out.length - 1]!)) out.pop();
  return out.join('\n');
}

function mapFrame(at: string, name: string | undefined, id: string, line: number, col: number): string {
  // `eval`, `Object.eval [as fn]`, `Object.fn`: how V8 names an anonymous shipped function as
  // the runner calls it; not a name the user gave.
  const fn = !name || /^(Object\.)?(eval|fn)( \[as fn\])?$/.test(name) ? '' : `${name.replace(/\beval\b/, '<anonymous>')} `;
  const part = layouts.get(id)?.find((p) => line >= p.start && line < p.start + p.lines);
  if (!part) return `${at}${fn}(shipped function:${line}:${col})`.replace(/\(\)/, '');
  const rel = line - part.start;
  const o = part.origin;
  if (!o) return fn ? `${at}${fn}(${part.what}:${rel + 1}:${col})` : `${at}${part.what}:${rel + 1}:${col}`;
  if (o.lines && o.lines.length > 0 && part.lineStarts) {
    // Transpiled source: the line of the last matched statement at or before the frame.
    const offset = (part.lineStarts[rel] ?? 0) + col - 1;
    let fileLine = o.lines[0]![1];
    for (const [at2, l] of o.lines) if (at2 <= offset) fileLine = l;
    return fn ? `${at}${fn}(${o.file}:${fileLine})` : `${at}${o.file}:${fileLine}`;
  }
  const c = rel === 0 && o.column > 0 ? o.column + col - 1 : col;
  return fn ? `${at}${fn}(${o.file}:${o.line + rel}:${c})` : `${at}${o.file}:${o.line + rel}:${c}`;
}
