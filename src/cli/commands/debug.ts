// `kiln debug ...`: developer views of kiln's internals. `debug parse` prints the Dockerfile parse
// tree as BuildKit's Node.Dump() (buildkit-dump) or as JSON (ast), or the typed stages (json:
// {metaArgs, stages} from toStages). `debug plan` prints the BuildPlan, with base images left
// unresolved (an empty config for each) so it needs no registry.
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { KilnError } from '../../errors.js';
import { checkFrontend, dump, parse, toStages } from '../../dockerfile/index.js';
import { hostPlatform, parsePlatform, type Digest } from '../../image/index.js';
import { planBuild, type ResolveImage } from '../../plan/index.js';
import { writeJson } from '../../support/index.js';
import { readDockerfile } from './build-flags.js';

/** A resolver that resolves nothing: every image is an empty config for the requested platform. */
const UNRESOLVED_DIGEST = `sha256:${'0'.repeat(64)}` as Digest;
const unresolved: ResolveImage = async (ref, platform) => ({
  ref: `unresolved:${ref}`,
  digest: UNRESOLVED_DIGEST,
  config: {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
  },
});

function keyValues(list: readonly string[], what: string, fromEnv: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i === 0) throw new KilnError('USAGE', `${what} ${JSON.stringify(kv)} has no name`, { hint: `write ${what} NAME=value` });
    if (i < 0) {
      const v = fromEnv ? process.env[kv] : undefined;
      if (v !== undefined) out.set(kv, v);
      else if (!fromEnv) throw new KilnError('USAGE', `${what} ${JSON.stringify(kv)} needs a value`, { hint: `write ${what} ${kv}=value` });
      continue;
    }
    out.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return out;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The Dockerfile as `kiln build` reads it: at most 16 MiB (`/dev/zero` must not fill memory), strict UTF-8. */
function readText(file: string): string {
  return readDockerfile(file, file);
}

export function registerDebug(program: Command): void {
  const debug = program.command('debug').description('Inspect kiln internals (parse trees, ...)');
  debug
    .command('parse')
    .description('Parse a Dockerfile and print its syntax tree')
    .addOption(new Option('--format <format>', 'output format').choices(['buildkit-dump', 'json', 'ast']).default('buildkit-dump'))
    .argument('<file>', 'the Dockerfile to parse')
    .action((file: string, opts: { format: 'buildkit-dump' | 'json' | 'ast' }) => {
      const ast = parse(readText(file), { file: basename(file) });
      if (opts.format === 'json') process.stdout.write(JSON.stringify(toStages(ast), null, 2) + '\n');
      else process.stdout.write(opts.format === 'ast' ? JSON.stringify(ast, null, 2) + '\n' : dump(ast) + '\n');
    });
  debug
    .command('plan')
    .description('Plan a build and print the BuildPlan as JSON (base images UNRESOLVED: empty configs, zero digests)')
    .option('--target <stage>', 'the stage to build (default: the last)')
    .option('--build-arg <k=v>', 'a build argument (repeatable; NAME alone takes it from the environment)', collect, [])
    .option('--label <k=v>', 'a label for the final image (repeatable)', collect, [])
    .option('--platform <os/arch>', 'the target platform (default: this machine)')
    .argument('<file>', 'the Dockerfile to plan')
    .action(async (file: string, opts: { target?: string; buildArg: string[]; label: string[]; platform?: string }) => {
      const ast = parse(readText(file), { file: basename(file) });
      const host = hostPlatform();
      const buildArgs = keyValues(opts.buildArg, '--build-arg', true);
      checkFrontend(ast, buildArgs.get('BUILDKIT_SYNTAX'));
      const plan = await planBuild(
        {
          stages: toStages(ast),
          ...(opts.target !== undefined ? { target: opts.target } : {}),
          buildArgs,
          labels: keyValues(opts.label, '--label', false),
          targetPlatform: opts.platform ? parsePlatform(opts.platform, host) : host,
          buildPlatform: host,
          sourceLines: ast.lines,
          file: ast.file,
          escapeToken: ast.directives.escape,
        },
        unresolved,
      );
      for (const w of plan.warnings) process.stderr.write(w + '\n');
      const note = 'base images are unresolved: each is an empty config with a zero digest (ref prefixed "unresolved:")';
      // in pieces: a plan can be longer than the longest string V8 makes
      writeJson({ note, ...plan }, (text) => process.stdout.write(text));
      process.stdout.write('\n');
    });
}
