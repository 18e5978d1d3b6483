// `kiln debug ...`: developer views of kiln's internals. `debug parse` prints the Dockerfile parse
// tree as BuildKit's Node.Dump() (buildkit-dump) or as JSON (ast), or the typed stages (json:
// {metaArgs, stages} from toStages).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { KilnError } from '../../errors.js';
import { dump, parse, toStages } from '../../dockerfile/index.js';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code ?? e);
    throw new KilnError('IO', `cannot read ${file}: ${why}`, { cause: e, hint: 'pass the path of a Dockerfile' });
  }
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
}
