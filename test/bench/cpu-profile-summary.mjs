#!/usr/bin/env node
// Summarizes V8 .cpuprofile files: busy time, top functions by self time and top files, with
// positions mapped through source maps (a .js.map beside the file, or an inline one as in
// dist/agent.mjs) back to the TypeScript line that defines the function.
//
//   node test/bench/cpu-profile-summary.mjs [--top 12] [--callers] FILE_OR_DIR...
//
// --callers adds, under each top function, the two callers that account for most of its self time.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '12' }, callers: { type: 'boolean', default: false } }, allowPositionals: true });
const TOP = Number(values.top);
const ROOT = process.cwd();
const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

const maps = new Map();
function mapFor(url) {
  if (maps.has(url)) return maps.get(url);
  let map = null;
  try {
    const file = fileURLToPath(url);
    const text = readFileSync(file, 'utf8');
    const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text.slice(-1_000_000));
    if (m) {
      const ref = m[1];
      const json = ref.startsWith('data:') ? Buffer.from(ref.slice(ref.indexOf(',') + 1), 'base64').toString('utf8') : readFileSync(resolve(dirname(file), ref), 'utf8');
      const payload = JSON.parse(json);
      map = { sm: new SourceMap(payload), base: pathToFileURL(file).href };
    }
  } catch {}
  maps.set(url, map);
  return map;
}

function where(cf) {
  if (!cf.url) return { name: cf.functionName || '(anonymous)', loc: '' };
  let url = cf.url, line = cf.lineNumber, name = cf.functionName;
  if (url.startsWith('file:') && !/\.tsx?$/.test(url)) {
    const m = mapFor(url);
    const e = m?.sm.findEntry(line, cf.columnNumber);
    if (e?.originalSource) {
      url = new URL(e.originalSource, m.base).href;
      line = e.originalLine;
      if (e.name && name.length <= 2) name = e.name; // minified bundle: the map knows the real name
    }
  }
  let path = url.startsWith('file:') ? relative(ROOT, fileURLToPath(url)) : url;
  path = path.replace(/^.*node_modules\//, 'node_modules/');
  return { name: name || '(anonymous)', loc: `${path}:${line + 1}`, file: path };
}

function summarize(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map();
  const info = (id) => {
    let k = keyOf.get(id);
    if (!k) {
      const w = where(byId.get(id).callFrame);
      k = { key: `${w.name}  ${w.loc}`, file: w.file, special: SPECIAL.has(byId.get(id).callFrame.functionName) };
      keyOf.set(id, k);
    }
    return k;
  };
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  const fns = new Map(), files = new Map(), callers = new Map(), incl = new Map();
  let total = 0, idle = 0, gc = 0, program = 0;
  for (const [id, us] of self) {
    const name = byId.get(id).callFrame.functionName;
    total += us;
    if (name === '(idle)') idle += us;
    else if (name === '(garbage collector)') gc += us;
    else if (name === '(program)') program += us;
    if (SPECIAL.has(name)) continue;
    const { key, file: f0 } = info(id);
    fns.set(key, (fns.get(key) ?? 0) + us);
    // The nearest caller, to tell apart who pays for a shared helper or a native call.
    const pid = parent.get(id);
    if (pid !== undefined && !info(pid).special) {
      const m = callers.get(key) ?? new Map();
      m.set(info(pid).key, (m.get(info(pid).key) ?? 0) + us);
      callers.set(key, m);
    }
    // Inclusive time of our own code: every distinct project function on the stack gets it.
    const seen = new Set();
    for (let a = id; a !== undefined; a = parent.get(a)) {
      const k = info(a);
      if (k.special || !k.file || /^(node_modules\/|node:)/.test(k.file) || seen.has(k.key)) continue;
      seen.add(k.key);
      incl.set(k.key, (incl.get(k.key) ?? 0) + us);
    }
    const f = f0 ?? '(native)';
    const group = f.startsWith('node_modules/') ? f.split('/').slice(0, f.split('/')[1].startsWith('@') ? 3 : 2).join('/') : f;
    files.set(group, (files.get(group) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const ms = (us) => `${(us / 1e3).toFixed(0).padStart(6)} ms`;
  const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log(`\n### ${file.startsWith(ROOT) ? relative(ROOT, file) : file}`);
  console.log(`wall ${(total / 1e3).toFixed(0)} ms, busy ${(busy / 1e3).toFixed(0)} ms (${((100 * busy) / total).toFixed(0)}%), of busy: GC ${pct(gc).trim()}, (program) ${pct(program).trim()}`);
  console.log(`top functions by self time (% of busy):`);
  for (const [k, us] of top(fns, TOP)) {
    console.log(`  ${ms(us)} ${pct(us)}  ${k}`);
    if (values.callers) for (const [c, cu] of top(callers.get(k) ?? new Map(), 2)) console.log(`  ${' '.repeat(16)}<- ${pct(cu).trim()} ${c}`);
  }
  console.log(`top files / packages by self time:`);
  for (const [k, us] of top(files, 8)) console.log(`  ${ms(us)} ${pct(us)}  ${k}`);
  console.log(`project functions by inclusive time:`);
  for (const [k, us] of top(incl, 10)) console.log(`  ${ms(us)} ${pct(us)}  ${k}`);
}

const inputs = positionals.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => join(p, f)) : [p]));
if (inputs.length === 0) console.error('no .cpuprofile files given');
for (const f of inputs) if (existsSync(f)) summarize(f);
