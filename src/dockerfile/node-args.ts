// Small readers over an InstructionNode shared by the instruction parsers.
import type { InstructionNode } from './ast.js';
import type { CommandLine } from './instruction-types.js';

/** The node's arguments as strings (BuildKit's nodeArgs: a nested ONBUILD instruction contributes its keyword and args). */
export function argValues(node: InstructionNode): string[] {
  const out: string[] = [];
  for (const a of node.args) {
    if (a.kind === 'value') out.push(a.value);
    else out.push(a.node.value, ...argValues(a.node));
  }
  return out;
}

/** The whole instruction text, keyword included. */
export function fullText(node: InstructionNode): string {
  const rest = node.original.trim();
  return rest === '' ? node.keyword : `${node.keyword} ${rest}`;
}

/** Exec form keeps the JSON args; shell form joins the words into one string (handleJSONArgs). */
export function commandLine(node: InstructionNode, args: readonly string[]): CommandLine {
  if (node.json) return { form: 'exec', args: [...args] };
  return { form: 'shell', args: args.length === 0 ? [] : [args.join(' ')] };
}

const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;

/**
 * If `word` is a heredoc marker (`<<EOF`, `<<-"EOF"`, `3<<EOF`), its delimiter name with quotes
 * and escapes removed; else undefined (BuildKit's MustParseHeredoc).
 */
export function heredocName(word: string): string | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m) return undefined;
  const rest = m[3] ?? '';
  if (rest === '') return undefined;
  let name = '';
  let quote: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < rest.length) name += rest[++i];
      else name += c;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '\\' && i + 1 < rest.length) name += rest[++i];
    else if (/\s/.test(c)) return undefined; // not a single word
    else name += c;
  }
  return name === '' ? undefined : name;
}
