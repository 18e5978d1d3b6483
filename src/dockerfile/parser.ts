// Dockerfile text → Ast, with BuildKit's parser semantics (frontend/dockerfile/parser): logical
// lines from lexer.ts, keyword + flags + per-instruction arguments from args.ts, heredoc bodies
// read from the lines that follow (heredoc.ts). Pure: no fs, no network. Every failure is a
// KilnError pointing at the offending lines.

import { KilnError } from '../errors.js';
import type { ArgNode, Ast, Heredoc, InstructionNode, ParserDirectives, Warning } from './ast.js';
import type { SourceRange } from '../errors.js';
import { parseArgs, splitCommand } from './args.js';
import { heredocsFromLine } from './heredoc.js';
import { checkNoNul } from './encoding.js';
import { DirectiveState, LineCursor, goToLower, Source, readLogicalLine, trimNewline, type LogicalLine } from './lexer.js';

export interface ParseOptions {
  /** The file name used in locations (default `Dockerfile`). */
  readonly file?: string;
}

/** An instruction before it has a range (ONBUILD's trigger is one of these, nested). */
interface Proto {
  readonly value: string;
  readonly keyword: string;
  readonly flags: readonly string[];
  readonly args: readonly ({ kind: 'value'; value: string } | { kind: 'instruction'; node: Proto })[];
  readonly original: string;
  readonly json: boolean;
}

const MAX_ONBUILD_DEPTH = 64;
const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run']);
const CHAINED_ONBUILD = "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed";

/** newNodeFromLine: keyword, flags and arguments of one logical line (recursing into ONBUILD). */
function protoFromLine(line: string, escape: string, depth: number): Proto {
  const sc = splitCommand(line, escape);
  const value = goToLower(sc.keyword);
  const parsed = parseArgs(value, sc.args, escape);
  let args: Proto['args'];
  let json = false;
  if (parsed.kind === 'sub') {
    if (depth >= MAX_ONBUILD_DEPTH) throw new KilnError('DOCKERFILE_SYNTAX', CHAINED_ONBUILD);
    args = [{ kind: 'instruction', node: protoFromLine(parsed.line, escape, depth + 1) }];
  } else {
    args = parsed.values.map((v) => ({ kind: 'value', value: v }));
    json = parsed.json;
  }
  return { value, keyword: sc.keyword, flags: sc.flags, args, original: sc.original, json };
}

function finish(p: Proto, range: SourceRange, heredocs: readonly Heredoc[]): InstructionNode {
  const args: ArgNode[] = p.args.map((a) =>
    a.kind === 'value' ? { kind: 'value', value: a.value } : { kind: 'instruction', node: finish(a.node, range, []) },
  );
  return { value: p.value, keyword: p.keyword, flags: p.flags, args, original: p.original, json: p.json, heredocs, range };
}

/** canContainHeredoc: RUN/COPY/ADD in shell form, directly or as an ONBUILD trigger. */
function canContainHeredoc(p: Proto): boolean {
  const first = p.args[0];
  if (p.value === 'onbuild' && first?.kind === 'instruction') p = first.node;
  return HEREDOC_INSTRUCTIONS.has(p.value) && !p.json;
}

/** Reads each heredoc's body from the lines after the instruction, in order. */
function readHeredocs(src: Source, cur: LineCursor, ll: LogicalLine): Heredoc[] {
  let markers;
  try {
    markers = heredocsFromLine(ll.text);
  } catch (e) {
    throw src.locate(e, ll.startLine, ll.endLine);
  }
  const out: Heredoc[] = [];
  for (const m of markers) {
    let content = '';
    let terminated = false;
    for (let raw = cur.next(); raw !== undefined; raw = cur.next()) {
      let candidate = trimNewline(raw);
      if (m.chomp) candidate = candidate.replace(/^\t+/, '');
      if (candidate === m.name) {
        terminated = true;
        break;
      }
      // a CRLF file's "\r" stays in the body, as in BuildKit (its heredoc lines are read raw)
      content += raw + '\n';
    }
    if (!terminated) {
      throw src.error(
        'HEREDOC_UNTERMINATED',
        'unterminated heredoc',
        ll.startLine,
        cur.line,
        `end the heredoc <<${m.name} with a line containing only ${m.name}`,
      );
    }
    // kept as written, tabs too, as BuildKit's parser keeps it: <<- is applied where the body is
    // used on its own (a RUN that is just the heredoc, a COPY/ADD source), not in a shell command
    out.push({ ...m, content });
  }
  return out;
}

/**
 * Checks BuildKit makes right after parsing (in its instructions layer) that need only the tree:
 * ONBUILD triggers, and blank ENV/LABEL names.
 */
function validate(src: Source, n: InstructionNode): void {
  const r = n.range;
  const first = n.args[0];
  if (n.value === 'onbuild' && first?.kind === 'instruction') {
    const trigger = first.node.keyword.toUpperCase();
    if (trigger === 'ONBUILD') throw src.error('DOCKERFILE_SYNTAX', CHAINED_ONBUILD, r.startLine, r.endLine);
    if (trigger === 'MAINTAINER' || trigger === 'FROM') {
      throw src.error('DOCKERFILE_SYNTAX', `${trigger} isn't allowed as an ONBUILD trigger`, r.startLine, r.endLine);
    }
  }
  if (n.value === 'env' || n.value === 'label') {
    for (let i = 0; i < n.args.length; i += 3) {
      const key = n.args[i];
      if (key?.kind === 'value' && key.value === '') {
        throw src.error('DOCKERFILE_SYNTAX', `${n.value.toUpperCase()} names can not be blank`, r.startLine, r.endLine, 'write NAME=value');
      }
    }
  }
}

/**
 * Parses a Dockerfile. Throws KilnError (DOCKERFILE_SYNTAX, DOCKERFILE_EMPTY, HEREDOC_UNTERMINATED).
 * Decode its bytes with decodeDockerfile (encoding.ts): invalid UTF-8 is gone from a string.
 */
export function parse(text: string, opts: ParseOptions = {}): Ast {
  checkNoNul(text, opts.file ?? 'Dockerfile');
  const src = new Source(text, opts.file ?? 'Dockerfile');
  const dirs = new DirectiveState();
  const cur = new LineCursor(src);
  const warnings: Warning[] = [];
  const instructions: InstructionNode[] = [];
  for (let ll = readLogicalLine(cur, dirs, warnings); ll; ll = readLogicalLine(cur, dirs, warnings)) {
    let proto: Proto;
    try {
      proto = protoFromLine(ll.text, dirs.escape, 0);
    } catch (e) {
      throw src.locate(e, ll.startLine, ll.endLine);
    }
    const heredocs = canContainHeredoc(proto) && ll.text.includes('<<') ? readHeredocs(src, cur, ll) : [];
    instructions.push(finish(proto, { file: src.file, startLine: ll.startLine, endLine: cur.line }, heredocs));
  }
  if (instructions.length === 0) {
    throw src.error('DOCKERFILE_EMPTY', 'file with no instructions', 1, src.lines.length, 'a Dockerfile needs at least a FROM instruction');
  }
  for (const n of instructions) validate(src, n);
  const directives: ParserDirectives = {
    escape: dirs.escape,
    ...(dirs.syntax === undefined ? {} : { syntax: dirs.syntax }),
    ...(dirs.check === undefined ? {} : { check: dirs.check }),
  };
  return { directives, instructions, warnings, lines: src.lines, file: src.file };
}
