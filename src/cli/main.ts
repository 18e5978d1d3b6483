// Composition root: argv → command. The only place that touches process.argv, stdout and exit codes.
import { Command, CommanderError } from 'commander';
import { KilnError, formatError, toKilnError } from '../errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { registerCommands } from './commands/index.js';
import { normalizePullFlag } from './commands/build.js';
import { unsupportedBuildFlagHint } from './commands/build-unsupported.js';
import { VERSION } from './version.js';
import { noteCodePath } from '../support/index.js';

export { codePaths } from '../support/index.js';

export function makeProgram(): Command {
  const program = new Command('kiln')
    .description('Daemonless, Docker-compatible multi-stage container image builder')
    .version(VERSION, '-v, --version', 'print the version')
    .option('--debug', 'show stack traces and internal details on errors')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride();
  registerCommands(program);
  program.hook('preAction', (_top, action) => noteCodePath(`cmd:${action.name()}`));
  for (const c of program.commands) c.exitOverride().showSuggestionAfterError(true);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = makeProgram();
  const debug = argv.includes('--debug');
  try {
    const build = argv.indexOf('build');
    const args = build >= 0 && argv.indexOf('--pull') > build ? normalizePullFlag(argv) : [...argv];
    await program.parseAsync(args, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
  } catch (e: unknown) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.OK;
      // commander already printed its message (with "Did you mean ...?"); a docker build flag
      // kiln leaves out gets the reason and what to do instead
      const flag = e.code === 'commander.unknownOption' ? /unknown option '([^']+)'/.exec(e.message)?.[1] : undefined;
      const hint = flag !== undefined && argv.find((a) => !a.startsWith('-')) === 'build' ? unsupportedBuildFlagHint(flag) : undefined;
      if (hint !== undefined) process.stderr.write(`hint: ${hint}\n`);
      return ExitCode.USAGE;
    }
    const err: KilnError = toKilnError(e);
    process.stderr.write(formatError(err, { debug }) + '\n');
    if (err.code === 'INTERNAL' && !debug) process.stderr.write('(this is a bug in kiln; run with --debug for the stack)\n');
    // SIGTERM ends a build with 143 (128 + 15), as a process killed by it would
    return (err.code === 'ABORTED' || err.code === 'CONTAINER_START') && err.details.exitCode !== undefined ? err.details.exitCode : exitCodeFor(err.code);
  }
}
