// The stage graph of a Dockerfile for `kiln graph`, as Mermaid or Graphviz DOT. Nodes are the
// stages (name, base); edges go from what a stage needs to the stage: FROM <stage>, COPY --from,
// RUN --mount from= (and images used by COPY --from). Stages the target doesn't reach are drawn
// dashed and grey. Stages are grouped by depth: every stage of one level can build in parallel
// once the levels above are done.
import type { Stages } from '../../dockerfile/index.js';
import type { BuildPlan, Source } from '../../plan/index.js';

export type EdgeKind = 'FROM' | 'COPY --from' | 'RUN --mount';

export interface GraphStage {
  readonly index: number;
  readonly name: string;
  /** What the FROM line names: an image reference, `scratch` or a stage name. */
  readonly base: string;
  readonly pruned: boolean;
  readonly target: boolean;
  /** 0 for stages that need no other stage, else 1 + the deepest stage needed. */
  level: number;
}

export interface GraphEdge {
  /** A stage index, or an image reference. */
  readonly from: number | string;
  readonly to: number;
  readonly kind: EdgeKind;
}

export interface StageGraph {
  readonly stages: readonly GraphStage[];
  readonly edges: readonly GraphEdge[];
  /** Images that stages copy or mount from (not bases: those are in the stage label). */
  readonly images: readonly string[];
}

/** The graph of all stages: reached ones from the plan, pruned ones from their (raw) instructions. */
export function stageGraph(all: Stages, plan: BuildPlan): StageGraph {
  const planned = new Map(plan.stages.map((s) => [s.index, s]));
  const stages: GraphStage[] = [];
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const add = (from: number | string, to: number, kind: EdgeKind): void => {
    const k = `${typeof from}:${from}>${to}:${kind}`;
    if (seen.has(k)) return;
    seen.add(k);
    edges.push({ from, to, kind });
  };
  const byName = (name: string): number | undefined => {
    if (/^[0-9]+$/.test(name)) {
      const i = Number(name);
      return i < all.stages.length ? i : undefined;
    }
    return all.stages.find((s) => s.name === name.toLowerCase())?.index;
  };
  const source = (src: Source | undefined, to: number, kind: EdgeKind): void => {
    if (src?.kind === 'stage') add(src.stage, to, kind);
    else if (src?.kind === 'image') add(src.image.ref, to, kind);
    else if (src?.kind === 'local') add(`context ${src.name}`, to, kind);
  };

  for (const st of all.stages) {
    const name = st.name ?? `stage-${st.index}`;
    const p = planned.get(st.index);
    if (p) {
      const base = p.base.kind === 'scratch' ? 'scratch' : p.base.kind === 'image' ? p.base.image.ref : p.base.kind === 'local' ? `context ${p.base.name}` : (all.stages[p.base.stage]?.name ?? `stage-${p.base.stage}`);
      stages.push({ index: st.index, name, base, pruned: false, target: st.index === plan.target, level: 0 });
      if (p.base.kind === 'stage') add(p.base.stage, st.index, 'FROM');
      for (const step of p.steps) {
        if (step.kind === 'copy') source(step.from, st.index, 'COPY --from');
        else if (step.kind === 'run') for (const m of step.mounts) source(m.from, st.index, 'RUN --mount');
      }
    } else {
      stages.push({ index: st.index, name, base: st.base, pruned: true, target: false, level: 0 });
      const baseStage = all.stages.find((s) => s.index < st.index && s.name === st.base)?.index;
      if (baseStage !== undefined) add(baseStage, st.index, 'FROM');
      for (const ins of st.instructions) {
        const refs: [string, EdgeKind][] = ins.kind === 'COPY' && ins.from ? [[ins.from, 'COPY --from']] : ins.kind === 'RUN' ? ins.mounts.flatMap((m): [string, EdgeKind][] => (m.from ? [[m.from, 'RUN --mount']] : [])) : [];
        for (const [ref, kind] of refs) {
          const i = byName(ref);
          if (i !== undefined) add(i, st.index, kind);
          else if (ref !== 'scratch') add(ref, st.index, kind);
        }
      }
    }
  }
  // Levels in file order: a stage only needs earlier stages (cycles were rejected by planning;
  // a pruned stage's forward reference is ignored).
  for (const s of stages) {
    for (const e of edges) {
      if (e.to === s.index && typeof e.from === 'number' && e.from < s.index) s.level = Math.max(s.level, stages[e.from]!.level + 1);
    }
  }
  const images = [...new Set(edges.flatMap((e) => (typeof e.from === 'string' ? [e.from] : [])))];
  return { stages, edges, images };
}

function levels(g: StageGraph): GraphStage[][] {
  const out: GraphStage[][] = [];
  for (const s of g.stages) (out[s.level] ??= []).push(s);
  return out.filter((l) => l !== undefined);
}

const edgePruned = (g: StageGraph, e: GraphEdge): boolean => g.stages[e.to]!.pruned;

function mermaidText(s: string): string {
  return s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

export function toMermaid(g: StageGraph): string {
  const out = ['flowchart TD'];
  for (const [i, level] of levels(g).entries()) {
    out.push(`  subgraph level${i} ["level ${i}"]`);
    for (const s of level) out.push(`    s${s.index}["${mermaidText(s.name + (s.target ? ' (target)' : ''))}<br/>FROM ${mermaidText(s.base)}"]`);
    out.push('  end');
  }
  g.images.forEach((ref, i) => out.push(`  img${i}(["${mermaidText(ref)}"])`));
  for (const e of g.edges) {
    const from = typeof e.from === 'number' ? `s${e.from}` : `img${g.images.indexOf(e.from)}`;
    out.push(`  ${from} ${edgePruned(g, e) ? '-.->' : '-->'}|${mermaidText(e.kind)}| s${e.to}`);
  }
  const pruned = g.stages.filter((s) => s.pruned);
  if (pruned.length) {
    out.push('  classDef pruned stroke-dasharray: 5 5,stroke:#999,color:#999');
    out.push(`  class ${pruned.map((s) => `s${s.index}`).join(',')} pruned`);
  }
  const target = g.stages.find((s) => s.target);
  if (target) {
    out.push('  classDef target stroke-width:3px');
    out.push(`  class s${target.index} target`);
  }
  return out.join('\n') + '\n';
}

function dotText(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function toDot(g: StageGraph): string {
  const out = ['digraph stages {', '  rankdir=TB;', '  node [shape=box, fontname="monospace"];', '  edge [fontname="monospace", fontsize=10];'];
  for (const [i, level] of levels(g).entries()) {
    out.push(`  subgraph cluster_level${i} {`, `    label=${dotText(`level ${i}`)};`, '    style=dotted;');
    for (const s of level) {
      const attrs = [`label=${dotText(`${s.name}${s.target ? ' (target)' : ''}\nFROM ${s.base}`)}`];
      if (s.pruned) attrs.push('style=dashed', 'color=grey', 'fontcolor=grey');
      if (s.target) attrs.push('penwidth=2');
      out.push(`    s${s.index} [${attrs.join(', ')}];`);
    }
    out.push('  }');
  }
  g.images.forEach((ref, i) => out.push(`  img${i} [label=${dotText(ref)}, shape=ellipse];`));
  for (const e of g.edges) {
    const from = typeof e.from === 'number' ? `s${e.from}` : `img${g.images.indexOf(e.from)}`;
    const attrs = [`label=${dotText(e.kind)}`];
    if (edgePruned(g, e)) attrs.push('style=dashed', 'color=grey', 'fontcolor=grey');
    out.push(`  ${from} -> s${e.to} [${attrs.join(', ')}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
