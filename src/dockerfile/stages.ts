// Ast → { metaArgs, stages }: the ARGs before the first FROM (nothing else may come before it),
// then one Stage per FROM with the instructions that follow it. Stage names must be unique.
import type { SourceRange } from '../errors.js';
import type { Ast } from './ast.js';
import { dockerfileError } from './fail.js';
import type { ArgInstruction, FromInstruction, Instruction, Stage, Stages } from './instruction-types.js';
import { parseInstruction } from './instructions.js';

interface OpenStage {
  readonly from: FromInstruction;
  readonly instructions: Instruction[];
}

export function toStages(ast: Ast): Stages {
  const src = { lines: ast.lines, file: ast.file };
  const at = (r: SourceRange): SourceRange => (r.file === undefined ? { ...r, file: ast.file } : r);
  if (ast.instructions.length === 0) {
    throw dockerfileError(src, { file: ast.file, startLine: 1, endLine: 1 }, 'DOCKERFILE_EMPTY', 'the Dockerfile has no instructions', 'a Dockerfile needs at least FROM <image>');
  }
  const metaArgs: ArgInstruction[] = [];
  const open: OpenStage[] = [];
  const byName = new Map<string, FromInstruction>();
  for (const node of ast.instructions) {
    const ins = parseInstruction(node, src);
    if (ins.kind === 'FROM') {
      if (ins.name !== undefined) {
        const prev = byName.get(ins.name);
        if (prev) {
          const p = at(prev.range);
          throw dockerfileError(src, at(ins.range), 'DOCKERFILE_SYNTAX', `duplicate stage name "${ins.name}"`, `stage "${ins.name}" is already defined at ${p.file}:${p.startLine}; rename one of them`, [p]);
        }
        byName.set(ins.name, ins);
      }
      open.push({ from: ins, instructions: [] });
      continue;
    }
    const cur = open[open.length - 1];
    if (cur) {
      cur.instructions.push(ins);
      continue;
    }
    if (ins.kind === 'ARG') {
      metaArgs.push(ins);
      continue;
    }
    throw dockerfileError(
      src,
      at(ins.range),
      'DOCKERFILE_SYNTAX',
      `no build stage in current context: ${node.keyword} comes before the first FROM`,
      'start the Dockerfile with FROM <image>; only ARG may come before the first FROM',
    );
  }
  if (open.length === 0) {
    const last = metaArgs[metaArgs.length - 1]!;
    throw dockerfileError(src, at(last.range), 'DOCKERFILE_EMPTY', 'the Dockerfile contains no stages to build (no FROM)', 'add FROM <image> after the ARGs');
  }
  const stages: Stage[] = open.map((s, index) => {
    const last = s.instructions[s.instructions.length - 1] ?? s.from;
    const range: SourceRange = { file: s.from.range.file ?? ast.file, startLine: s.from.range.startLine, endLine: last.range.endLine };
    return {
      ...(s.from.name === undefined ? {} : { name: s.from.name }),
      index,
      base: s.from.base,
      ...(s.from.platform === undefined ? {} : { platform: s.from.platform }),
      instructions: s.instructions,
      range,
      from: s.from,
    };
  });
  return { metaArgs, stages };
}

/**
 * The stage a reference (`COPY --from=x`, `RUN --mount=from=x`, `FROM x`) names: a stage name
 * (case-insensitive) or a decimal stage index; undefined when it names no stage (an image then).
 */
export function findStage(stages: readonly Stage[], ref: string): Stage | undefined {
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    return i < stages.length ? stages[i] : undefined;
  }
  const name = ref.toLowerCase();
  return stages.find((s) => s.name === name);
}
