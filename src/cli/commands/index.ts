// Every subcommand registers itself here (one file per command or command group).
import type { Command } from 'commander';
import { registerVersion } from './version.js';

export function registerCommands(program: Command): void {
  registerVersion(program);
}
