import type { Command } from 'commander';
import { VERSION } from '../version.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Show the kiln version information')
    .action(() => {
      // which form of the CLI runs: the one-file bundle (scripts/bundle.mjs) or dist/src's modules
      const code = import.meta.url.endsWith('/kiln.cjs') ? 'bundle' : 'modules';
      process.stdout.write(`kiln ${VERSION}\nnode ${process.version}\nplatform ${process.platform}/${process.arch}\ncode ${code}\n`);
    });
}
