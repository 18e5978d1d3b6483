// The bytes of a Dockerfile → its text. Invalid UTF-8 is an error at its line and column (Node's
// default decoding would silently turn it into U+FFFD and build it into the image), and so is a
// NUL byte (a C string ends there: a RUN holding one fails as "exec /bin/sh: invalid argument").
// A UTF-8 byte order mark is kept in the text; the parser drops it. Pure: no fs.

import { KilnError } from '../errors.js';
import { Source } from './lexer.js';

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const SAVE_AS_UTF8 = 'save the Dockerfile as UTF-8 (a Dockerfile is UTF-8 text)';

function hasUtf8Bom(b: Uint8Array): boolean {
  return b[0] === UTF8_BOM[0] && b[1] === UTF8_BOM[1] && b[2] === UTF8_BOM[2];
}

/**
 * The first ill-formed sequence of `b`: its offset and length (the "maximal subpart" of the Unicode
 * standard, as TextDecoder replaces it), or undefined when `b` is all valid UTF-8.
 */
export function firstInvalidUtf8(b: Uint8Array): { offset: number; length: number } | undefined {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return { offset: i, length: 1 };
    let j = 1;
    for (; j <= need; j++) {
      const d = b[i + j];
      if (d === undefined || d < lo || d > hi) return { offset: i, length: j };
      lo = 0x80;
      hi = 0xbf;
    }
    i += j;
  }
  return undefined;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** 1-based line of byte `offset`, and the offset where that line starts. */
function lineOf(b: Uint8Array, offset: number): { line: number; start: number } {
  let line = 1;
  let start = 0;
  for (let i = b.indexOf(0x0a); i !== -1 && i < offset; i = b.indexOf(0x0a, i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, start };
}

/** The 1-based column (in characters, as an editor counts them) of `index` in `line`. */
function columnOf(line: string, index: number): number {
  let col = 1;
  for (let i = 0; i < index; i++) {
    const c = line.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < index) i++; // one character, two UTF-16 units
    col++;
  }
  return col;
}

function locatedError(src: Source, line: number, col: number, message: string, hint: string, shown = src.lines): KilnError {
  return new KilnError('DOCKERFILE_SYNTAX', message, {
    location: [{ file: src.file, startLine: line, endLine: line, startCol: col, endCol: col }],
    sourceLines: shown,
    hint,
  });
}

/**
 * Decodes a Dockerfile's bytes as UTF-8. Throws DOCKERFILE_SYNTAX at the line and column of the
 * first byte that is not valid UTF-8, or of the first NUL byte. `file` is the name errors show.
 */
export function decodeDockerfile(bytes: Uint8Array, file = 'Dockerfile'): string {
  let text: string;
  try {
    // ignoreBOM: keep a BOM in the text, as Buffer#toString does; Source drops it
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    if (bad === undefined) throw new KilnError('INTERNAL', 'TextDecoder rejected valid UTF-8');
    const lossy = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    const src = new Source(lossy, file);
    const { line, start } = lineOf(bytes, bad.offset);
    const from = line === 1 && hasUtf8Bom(bytes) ? 3 : start;
    const before = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(from, bad.offset));
    const col = columnOf(before, before.length);
    const shown = Array.from(bytes.subarray(bad.offset, bad.offset + bad.length), hex);
    const what = shown.length === 1 ? `byte ${shown[0]}` : `bytes ${shown.join(' ')}`;
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    const hint = utf16 ? `the file starts with a UTF-16 byte order mark: ${SAVE_AS_UTF8}` : SAVE_AS_UTF8;
    throw locatedError(src, line, col, `the line is not valid UTF-8 (${what} at column ${col})`, hint);
  }
  checkNoNul(text, file);
  return text;
}

/** Throws DOCKERFILE_SYNTAX at the first NUL character of a Dockerfile's text, if it has one. */
export function checkNoNul(text: string, file = 'Dockerfile'): void {
  const at = text.indexOf('\0');
  if (at === -1) return;
  const bom = text.startsWith('\uFEFF') ? 1 : 0;
  let lineNo = 1;
  let start = bom;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    lineNo++;
    start = i + 1;
  }
  const src = new Source(text, file);
  const col = columnOf(text.slice(start, at), at - start);
  // the snippet shows each NUL as ␀: a terminal prints nothing for it
  const shown = src.lines.map((l) => (l.includes('\0') ? l.replaceAll('\0', '\u2400') : l));
  throw locatedError(src, lineNo, col, `the line holds a NUL byte (at column ${col})`, 'is this a binary file? A Dockerfile is text and cannot hold NUL bytes', shown);
}
