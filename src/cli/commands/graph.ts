// `kiln graph [--format mermaid|dot] [--target X] [-f FILE] PATH`: the stage graph of a
// Dockerfile as planned for the target (pruned stages dashed), without touching the store: base
// images resolve to placeholders, so nothing needs to be pulled.
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { KilnError } from '../../errors.js';
import { checkFrontend, parse, toStages } from '../../dockerfile/index.js';
import { hostPlatform, type Digest, type Platform } from '../../image/index.js';
import { planBuild, type ResolvedImage } from '../../plan/index.js';
import { stageGraph, toDot, toMermaid } from '../render/index.js';
import { readDockerfile } from './build-flags.js';

interface GraphFlags {
  format: 'mermaid' | 'dot';
  target?: string;
  file?: string;
  buildArg: string[];
}

/** A stand-in for a base image: the reference as written, an empty config, no store access. */
async function placeholder(ref: string, platform: Platform): Promise<ResolvedImage> {
  return {
    ref,
    digest: `sha256:${'0'.repeat(64)}` as Digest,
    config: { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
  };
}

export function registerGraph(program: Command): void {
  program
    .command('graph')
    .description('Print the stage graph of a Dockerfile (Mermaid or Graphviz DOT)')
    .argument('<PATH>', 'build context directory (where the Dockerfile is looked for)')
    .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot']).default('mermaid'))
    .option('--target <stage>', 'the stage to build (default: the last one); stages it does not need are marked as pruned')
    .option('-f, --file <path>', 'name of the Dockerfile (default: PATH/Dockerfile)')
    .option('--build-arg <key=value>', 'build-time variables used in FROM lines (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .action(async (path: string, flags: GraphFlags) => {
      const file = flags.file === undefined ? join(resolve(path), 'Dockerfile') : resolve(flags.file);
      const fileName = flags.file ?? 'Dockerfile';
      const text = readDockerfile(file, fileName);
      const ast = parse(text, { file: fileName });
      checkFrontend(ast);
      const stages = toStages(ast);
      const buildArgs = new Map<string, string>();
      for (const a of flags.buildArg) {
        const eq = a.indexOf('=');
        if (eq <= 0) throw new KilnError('USAGE', `invalid --build-arg ${JSON.stringify(a)}: expected KEY=VALUE`);
        buildArgs.set(a.slice(0, eq), a.slice(eq + 1));
      }
      const host = hostPlatform();
      const plan = await planBuild(
        {
          stages,
          ...(flags.target !== undefined ? { target: flags.target } : {}),
          buildArgs,
          targetPlatform: host,
          buildPlatform: host,
          sourceLines: ast.lines,
          file: fileName,
          escapeToken: ast.directives.escape,
        },
        placeholder,
      );
      const g = stageGraph(stages, plan);
      process.stdout.write(flags.format === 'dot' ? toDot(g) : toMermaid(g));
    });
}
