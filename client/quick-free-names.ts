/**
 * The free names of a one-expression arrow function (`(x) => x * x`, `row => row.length + 1`)
 * without a parser: the common inline task, whose full analysis (loading acorn and eslint-scope,
 * a parse, a scope analysis) would cost a short program more than its whole map. Only a shape
 * with one scope qualifies: plain identifier parameters and an expression body without nested
 * functions, blocks, object literals, templates, regular expressions, comments or keywords. For
 * anything else it answers undefined and the full analysis decides. The source comes from
 * `Function.prototype.toString`, so it is valid JavaScript: the scan only has to find names.
 */
import type { FnAnalysis } from './free-names.js';

// Words a one-scope expression may contain that are not names: literals. Every other reserved
// word (typeof, this, new, await, import, ...) sends the source to the full analysis.
const LITERAL_WORDS = new Set(['true', 'false', 'null']);
const WORD = /[A-Za-z_$][\w$]*/y;
// Decimal (not a legacy octal like 017, a strict-mode error), hexadecimal, octal, binary, BigInt.
const NUMBER = /(?:0[xXoObB][\da-fA-F_]+|(?:[1-9][\d_]*|0(?![\d_]))?(?:\.\d[\d_]*|\.)?(?:[eE][+-]?\d[\d_]*)?)n?/y;
const WORD_START = /[A-Za-z_$]/;
const DIGIT = /\d/;
const STRING = /'[^'\\\n\r]*'|"[^"\\\n\r]*"/y;
// Operators and punctuation of expressions (no `/`, which may start a regular expression or a
// comment, no `{` `}`, no `=>` beyond the arrow itself, no backquote, `#`, `@` or `\`).
const PUNCT = /\.\.\.|\?\?=?|\?\.(?!\d)|\*\*=?|===?|!==?|>>>=?|>>=?|<<=?|<=|>=|&&=?|\|\|=?|[+\-*%&|^]=?|[<>!~?:,()[\].+\-]|=(?!>)/y;
const SPACE = /\s*/y;

function at(re: RegExp, s: string, i: number): string | undefined {
  re.lastIndex = i;
  const m = re.exec(s);
  return m && m[0].length > 0 ? m[0] : undefined;
}

/**
 * The analysis of `source` when it is a one-scope arrow function, else undefined.
 * @param reserved words that cannot name a binding in strict code
 */
export function quickAnalysis(source: string, reserved: ReadonlySet<string>): FnAnalysis | undefined {
  let i = at(SPACE, source, 0)?.length ?? 0;
  const word = (): string | undefined => {
    const w = at(WORD, source, i);
    if (w) i += w.length;
    return w;
  };
  const skip = () => (i += at(SPACE, source, i)?.length ?? 0);
  const eat = (t: string) => source.startsWith(t, i) && ((i += t.length), skip(), true);

  // Parameters: `x`, `(x, y)`, optionally after `async`.
  const params = new Set<string>();
  let first = word();
  skip();
  if (first === 'async' && (source[i] === '(' || WORD_START.test(source[i] ?? ''))) first = word();
  if (first !== undefined) {
    params.add(first);
  } else if (eat('(')) {
    while (!eat(')')) {
      const p = word();
      skip();
      if (!p || !(eat(',') || source[i] === ')')) return undefined;
      params.add(p);
    }
  } else {
    return undefined;
  }
  skip();
  if (!eat('=>')) return undefined;
  for (const p of params) if (reserved.has(p) || p === 'async') return undefined;

  // The body: every word not after a member dot is a name read from some scope.
  const free = new Set<string>();
  let member = false;
  while (i < source.length) {
    const w = word();
    if (w !== undefined) {
      if (reserved.has(w) && !LITERAL_WORDS.has(w)) return undefined;
      if (!member && !LITERAL_WORDS.has(w) && !params.has(w)) free.add(w);
      member = false;
    } else if (DIGIT.test(source[source[i] === '.' ? i + 1 : i] ?? '')) {
      const n = at(NUMBER, source, i);
      // Anything the pattern does not take whole (a legacy octal, a name glued on) is not for us.
      if (!n || WORD_START.test(source[i + n.length] ?? '') || DIGIT.test(source[i + n.length] ?? '')) return undefined;
      i += n.length;
      member = false;
    } else if (source[i] === "'" || source[i] === '"') {
      const s = at(STRING, source, i);
      if (!s) return undefined;
      i += s.length;
      member = false;
    } else {
      const p = at(PUNCT, source, i);
      if (!p) return undefined;
      i += p.length;
      member = p === '.' || p === '?.';
    }
    skip();
  }
  if (member) return undefined;
  return { src: source, free: [...free].sort() };
}
