// --chmod: octal (`755`, `0644`, up to 07777) or symbolic (`u+x,g-w,o=r`, like chmod(1) with a
// zero umask), validated the way BuildKit's dockerfile2llb does before anything is copied.
import { KilnError } from '../../errors.js';

/** A parsed --chmod value. */
export interface ChmodSpec {
  readonly text: string;
  /** Set for an octal value: the exact permission bits (with setuid/setgid/sticky). */
  readonly octal?: number;
  /** The new permission bits (0o7777 part) for a source with permission bits `mode`. */
  apply(mode: number, isDir: boolean): number;
}

interface Clause {
  who: number; // mask of affected bits
  ops: { op: '+' | '-' | '='; perm: string; copyFrom?: 'u' | 'g' | 'o' }[];
}

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };

function invalid(text: string): KilnError {
  return new KilnError('INVALID_FLAG', `invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777, or a symbolic mode such as u+x,g-w`, {
    hint: 'use an octal mode (--chmod=755) or chmod(1) symbolic clauses ([ugoa]*[-+=][rwxXst]*, comma-separated)',
  });
}

function parseSymbolic(text: string): Clause[] {
  const clauses: Clause[] = [];
  for (const part of text.split(',')) {
    const m = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.exec(part);
    if (!m) throw invalid(text);
    let who = 0;
    for (const c of m[1]!) who |= WHO[c]!;
    const ops: Clause['ops'] = [];
    const re = /([-+=])([ugo]|[rwxXst]*)/g;
    for (let r = re.exec(m[2]!); r; r = re.exec(m[2]!)) {
      const perm = r[2]!;
      if (perm === 'u' || perm === 'g' || perm === 'o') ops.push({ op: r[1] as '+' | '-' | '=', perm: '', copyFrom: perm });
      else ops.push({ op: r[1] as '+' | '-' | '=', perm });
    }
    clauses.push({ who, ops });
  }
  return clauses;
}

/** Bits (within 0o7777) that the letters in `perm` stand for, before masking by `who`. */
function permBits(perm: string, mode: number, isDir: boolean): number {
  let bits = 0;
  for (const c of perm) {
    if (c === 'r') bits |= 0o444;
    else if (c === 'w') bits |= 0o222;
    else if (c === 'x') bits |= 0o111;
    else if (c === 'X') {
      if (isDir || (mode & 0o111) !== 0) bits |= 0o111;
    } else if (c === 's') bits |= 0o6000;
    else if (c === 't') bits |= 0o1000;
  }
  return bits;
}

function copyBits(from: 'u' | 'g' | 'o', mode: number): number {
  const shift = from === 'u' ? 6 : from === 'g' ? 3 : 0;
  const rwx = (mode >> shift) & 7;
  return rwx * 0o111;
}

function applyClauses(clauses: readonly Clause[], mode: number, isDir: boolean): number {
  let m = mode & 0o7777;
  for (const cl of clauses) {
    const who = cl.who === 0 ? 0o7777 : cl.who; // no "who": all, as with a zero umask
    for (const o of cl.ops) {
      const bits = (o.copyFrom ? copyBits(o.copyFrom, m) : permBits(o.perm, m, isDir)) & who;
      if (o.op === '+') m |= bits;
      else if (o.op === '-') m &= ~bits;
      else m = (m & ~who) | bits;
    }
  }
  return m & 0o7777;
}

/** Parses --chmod like BuildKit (octal first, then symbolic); throws KilnError INVALID_FLAG. */
export function parseChmod(text: string): ChmodSpec {
  if (/^[0-9]+$/.test(text)) {
    if (!/^[0-7]+$/.test(text)) throw invalid(text);
    const v = parseInt(text, 8);
    if (v > 0o7777) throw invalid(text);
    return { text, octal: v, apply: () => v };
  }
  if (text === '') throw invalid(text);
  const clauses = parseSymbolic(text);
  return { text, apply: (mode, isDir) => applyClauses(clauses, mode, isDir) };
}
