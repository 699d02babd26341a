/**
 * Where app code called into flotilla: a stack captured at `map()` / `clusterMap()`, so an error
 * that ends a job points at the user's line rather than at flotilla's internals, and a shipped
 * function's remote frames can name the file and line it was defined at.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SourceOrigin } from '../contract/fnspec.js';

/** A stack captured where app code called us; formatted only if it is ever needed. */
export interface CallSite {
  readonly stack: string | undefined;
}

// Frames of these folders are flotilla's own, in the built package (its entries, their shared
// chunks, the agent bundle) and in its sources.
const OURS = ['client/', 'server/', 'agent/', 'chunks/', 'agent.mjs'].flatMap((d) => {
  const url = new URL(`../${d}`, import.meta.url);
  return [url.href, fileURLToPath(url)];
});

function isOurs(frame: string): boolean {
  return frame.includes('node:internal') || frame.includes('new Promise (<anonymous>)') || OURS.some((o) => frame.includes(o));
}

/** Frames kept of the app's stack: its call and what led to it. Each costs time and memory per map. */
const USER_FRAMES = 10;

/**
 * Captures the stack from where app code called `entry` (the public function that calls this:
 * its frame and ours above it are left out, so they take none of the frames kept).
 * `Error.captureStackTrace` defers the formatting to first use: a map that never fails pays for
 * the capture only.
 */
export function captureCallSite(entry: Function = captureCallSite): CallSite {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = entry === captureCallSite ? USER_FRAMES + 6 : USER_FRAMES;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, entry);
  Error.stackTraceLimit = limit;
  return holder as CallSite;
}

/** The frames of a stack that are not flotilla's (nor Node's internals). */
export function userFrames(site: CallSite | undefined): string[] {
  return (site?.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l) && !isOurs(l));
}

/**
 * Gives `err` a stack that starts where app code called: its header, then the user's frames.
 * The remote stack of a task's failure stays on its `cause`.
 */
export function locateError<E extends Error>(err: E, site: CallSite | undefined): E {
  const frames = userFrames(site);
  if (frames.length === 0) return err;
  try {
    err.stack = `${err.name}: ${err.message}\n${frames.join('\n')}`;
  } catch {
    // a frozen error keeps its own stack
  }
  return err;
}

/** The file, line and column of the first user frame. */
export function firstUserFrame(site: CallSite | undefined): SourceOrigin | undefined {
  for (const frame of userFrames(site)) {
    const m = /\(?((?:file:\/\/|\/)[^()]*?):(\d+):(\d+)\)?$/.exec(frame);
    if (m) return { file: m[1]!, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

const MAX_FILE_BYTES = 4 * 1024 * 1024;
const texts = new Map<string, { mtimeMs: number; text: string } | null>();

/** The text of a user's file (cached while unchanged), or undefined when it cannot be read. */
export function fileText(file: string): string | undefined {
  let path: string;
  try {
    path = file.startsWith('file:') ? fileURLToPath(file) : file;
    const st = statSync(path);
    if (st.size > MAX_FILE_BYTES) return undefined;
    const hit = texts.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit.text;
    const text = readFileSync(path, 'utf8');
    texts.set(path, { mtimeMs: st.mtimeMs, text });
    return text;
  } catch {
    return undefined;
  }
}

/**
 * Where `source` (a function's text) starts in the call site's file: the occurrence nearest the
 * call. Transpiled code (TypeScript run by tsx) does not appear verbatim; then the call's line
 * stands in, with the column unknown.
 */
export function originOf(source: string, site: SourceOrigin | undefined): SourceOrigin | undefined {
  if (!site) return undefined;
  const text = fileText(site.file);
  if (text !== undefined && source.length > 0) {
    let best: SourceOrigin | undefined;
    for (let at = text.indexOf(source); at >= 0; at = text.indexOf(source, at + 1)) {
      const before = text.slice(0, at);
      const line = before.split('\n').length;
      const column = at - before.lastIndexOf('\n');
      if (!best || Math.abs(line - site.line) < Math.abs(best.line - site.line)) best = { file: site.file, line, column };
    }
    if (best) return best;
    const lines = lineTable(source, site.file, text, site.line);
    if (lines) return { file: site.file, line: lines[0]![1], column: 0, lines };
  }
  return { file: site.file, line: site.line, column: 0 };
}

/** Text without spaces, with one quote style; `at[i]` is where its i-th character was. */
function squeeze(text: string): { text: string; at: number[] } {
  let out = '';
  const at: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    out += c === "'" || c === '`' ? '"' : c;
    at.push(i);
  }
  return { text: out, at };
}

const squeezed = new Map<string, { src: string; text: string; lineOf: number[] }>();

/**
 * For transpiled code (TypeScript run by tsx, which also strips whitespace): its statements are
 * matched in order against the file (both without spaces, one quote style; type annotations
 * make some miss), starting nearest the call, giving pairs [offset in source, line in file].
 */
function lineTable(source: string, file: string, text: string, callLine: number): Array<[number, number]> | undefined {
  if (source.length > 64 * 1024) return undefined;
  let f = squeezed.get(file);
  if (!f || f.src !== text) {
    const s = squeeze(text);
    const lineStart: number[] = [0];
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStart.push(i + 1);
    let line = 0;
    const lineOf = s.at.map((off) => {
      while (line + 1 < lineStart.length && lineStart[line + 1]! <= off) line++;
      return line + 1;
    });
    if (squeezed.size > 64) squeezed.clear();
    squeezed.set(file, (f = { src: text, text: s.text, lineOf }));
  }
  const src = squeeze(source);
  // Statements and blocks: cut after ; { } and keep pieces long enough to be telling.
  const pieces: Array<{ text: string; at: number }> = [];
  let from = 0;
  for (let i = 0; i <= src.text.length; i++) {
    if (i === src.text.length || ';{}'.includes(src.text[i]!)) {
      const piece = src.text.slice(from, i + 1);
      if (piece.length >= 8) pieces.push({ text: piece, at: src.at[from]! });
      from = i + 1;
    }
  }
  const out: Array<[number, number]> = [];
  let pos = -1;
  for (const p of pieces) {
    let idx = -1;
    if (pos < 0) {
      // The first piece found: the occurrence nearest the call.
      for (let j = f.text.indexOf(p.text); j >= 0; j = f.text.indexOf(p.text, j + 1)) {
        if (idx < 0 || Math.abs(f.lineOf[j]! - callLine) < Math.abs(f.lineOf[idx]! - callLine)) idx = j;
      }
    } else {
      idx = f.text.indexOf(p.text, pos);
      if (idx - pos > 4096) idx = -1; // too far on: not this function's text
    }
    if (idx < 0) continue;
    out.push([p.at, f.lineOf[idx]!]);
    pos = idx + p.text.length;
  }
  return out.length > 0 ? out : undefined;
}
