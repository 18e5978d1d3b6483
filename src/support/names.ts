// File names that are not UTF-8. kiln keeps paths as JS strings, and Node decodes a name that is
// not valid UTF-8 with U+FFFD in place of the bad bytes: the name then no longer opens the file,
// so a walker would drop it, or an extraction would create it under another name. BuildKit (Go
// strings are bytes) copies such names as they are. Until kiln carries raw names, every walk of
// a user's tree and every tar name goes through here and fails loudly instead.
import { readdirSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { KilnError } from '../errors.js';

/** Shows a name's bytes as text, invalid ones as \xNN. */
export function showRawName(raw: Buffer): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    // the longest valid UTF-8 run from i
    let j = i;
    while (j < raw.length && raw[j]! < 0x80) j++;
    if (j > i) {
      out += raw.toString('latin1', i, j);
      i = j;
      continue;
    }
    const len = raw[i]! >= 0xf0 ? 4 : raw[i]! >= 0xe0 ? 3 : raw[i]! >= 0xc0 ? 2 : 1;
    const seq = raw.subarray(i, i + len);
    if (len > 1 && seq.length === len && isUtf8(seq)) {
      out += seq.toString('utf8');
      i += len;
    } else {
      out += `\\x${raw[i]!.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

/** The error for a file name that is not valid UTF-8; `where` shows where it is (a path). */
export function nonUtf8Name(where: string, what = 'file name', hint = 'rename the file'): KilnError {
  return new KilnError('NOT_IMPLEMENTED', `${what} is not valid UTF-8: ${where} (kiln handles UTF-8 file names only)`, { hint });
}

/** A name read as bytes (a tar header's), as a string; an error when it is not UTF-8. */
export function utf8Name(raw: Buffer, what = 'file name', within = ''): string {
  if (!isUtf8(raw)) throw nonUtf8Name(`${showRawName(raw)}${within}`, what, 'rename it where the archive or image is made');
  return raw.toString('utf8');
}

/**
 * The names in `dir`, like readdirSync, but an error for a name that is not valid UTF-8 rather
 * than a mangled name. `shown` is how errors name the directory (default: `dir`). `skip` may
 * excuse such a name, seen as Node decodes it (U+FFFD for the bad bytes): one that is left out
 * of the walk anyway (.dockerignore) is then dropped instead.
 */
export function readdirNames(dir: string, shown: string = dir, skip?: (mangled: string) => boolean): string[] {
  const names = readdirSync(dir);
  // a mangled name always holds U+FFFD; a real U+FFFD in a name is rare, so is the second read
  if (!names.some((n) => n.includes('\uFFFD'))) return names;
  const bad = new Set<string>();
  for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
    if (isUtf8(raw)) continue;
    const mangled = raw.toString('utf8');
    if (skip?.(mangled)) {
      bad.add(mangled);
      continue;
    }
    throw nonUtf8Name(`${shown.replace(/\/$/, '')}/${showRawName(raw)}`, 'file name', skip ? 'rename the file, or leave it out with .dockerignore' : 'rename the file');
  }
  return bad.size === 0 ? names : names.filter((n) => !bad.has(n));
}
