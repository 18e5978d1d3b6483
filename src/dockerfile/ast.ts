// The parse tree of a Dockerfile, shaped like BuildKit's parser.Node so that `dump()` can
// reproduce BuildKit's Node.Dump() byte for byte. Produced by parser.ts, consumed by
// instructions.ts. Pure data.

import type { SourceRange } from '../errors.js';

/** A heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`). */
export interface Heredoc {
  /** The delimiter word without quotes, e.g. `EOF`. */
  readonly name: string;
  /** The body as written, each line ending in "\n" (tabs kept: `chomp` says where users strip them). */
  readonly content: string;
  /** False when the delimiter was (partly) quoted: the body is not expanded. */
  readonly expand: boolean;
  /** `<<-`: leading tabs are stripped from each body line where the body is used on its own. */
  readonly chomp: boolean;
  /** File descriptor number for `3<<EOF`, when given. */
  readonly fileDescriptor?: number;
}

/**
 * One argument node in BuildKit's linked-list sense (`Node.Next`). We keep them as an array.
 * ONBUILD's argument is a nested instruction node.
 */
export type ArgNode = { readonly kind: 'value'; readonly value: string } | { readonly kind: 'instruction'; readonly node: InstructionNode };

export interface InstructionNode {
  /** The keyword lower-cased (`from`, `run`, ...), like BuildKit's Node.Value. */
  readonly value: string;
  /** The keyword as written in the file (for messages). */
  readonly keyword: string;
  /** The leading `--flag[=value]` words, unquoted (BuildKit's Node.Flags). */
  readonly flags: readonly string[];
  /** Parsed arguments (BuildKit's Node.Next chain). */
  readonly args: readonly ArgNode[];
  /** The instruction's text after the keyword with continuations joined (BuildKit's Node.Original minus keyword). */
  readonly original: string;
  /** True when the arguments came from a JSON array (exec form). */
  readonly json: boolean;
  readonly heredocs: readonly Heredoc[];
  readonly range: SourceRange;
}

export interface ParserDirectives {
  readonly escape: '\\' | '`';
  readonly syntax?: string;
  readonly check?: string;
}

export interface Warning {
  readonly message: string;
  readonly range?: SourceRange;
}

export interface Ast {
  readonly directives: ParserDirectives;
  readonly instructions: readonly InstructionNode[];
  readonly warnings: readonly Warning[];
  /** The file's lines (after BOM removal, CRLF → LF), for error snippets. */
  readonly lines: readonly string[];
  /** The file name used in locations and errors (default `Dockerfile`). */
  readonly file: string;
}
