// BuildKit's Node.Dump(): the parse tree as one s-expression per instruction, with Go's
// strconv.Quote for every value. Used by the conformance tests and `kiln debug parse`.

import type { Ast, InstructionNode } from './ast.js';
import { goToLower, goTrimSpace } from './lexer.js';

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const SHORT: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Go's strconv.Quote (what `%q` prints for a string). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\uFFFD'; // an unpaired surrogate: Go would hold U+FFFD
    else if (cp > 0x7f && PRINTABLE.test(ch)) out += ch;
    else if (SHORT[cp] !== undefined) out += SHORT[cp];
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(cp, 2);
    else if (cp < 0x10000) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
  }
  return out + '"';
}


/** One instruction, without the surrounding parentheses: `run "echo hi"`, `onbuild (run "x")`. */
export function dumpNode(n: InstructionNode): string {
  let s = goToLower(n.value);
  if (n.flags.length > 0) s += ` [${n.flags.map(goQuote).join(' ')}]`;
  for (const a of n.args) {
    s += ' ';
    s += a.kind === 'value' ? goQuote(a.value) : `(${dumpNode(a.node)})`;
  }
  return goTrimSpace(s);
}

/** The whole file: one `(...)` line per instruction, no trailing newline (like Node.Dump()). */
export function dump(ast: Ast): string {
  return goTrimSpace(ast.instructions.map((n) => `(${dumpNode(n)})\n`).join(''));
}
