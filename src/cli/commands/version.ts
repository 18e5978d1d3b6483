import type { Command } from 'commander';
import { VERSION } from '../version.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Show the kiln version information')
    .action(() => {
      process.stdout.write(`kiln ${VERSION}\nnode ${process.version}\nplatform ${process.platform}/${process.arch}\n`);
    });
}
