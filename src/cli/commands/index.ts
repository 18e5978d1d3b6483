// Every subcommand registers itself here (one file per command or command group).
import type { Command } from 'commander';
import { registerBuild } from './build.js';
import { registerDebug } from './debug.js';
import { registerGraph } from './graph.js';
import { registerRun } from './run.js';
import { registerVersion } from './version.js';
import { registerRegistry } from './registry.js';
import { registerStore } from './store.js';
import { registerImport } from './import.js';
import { registerImagesIo } from './images-io.js';
import { registerCache } from './cache.js';
import { registerHistory } from './history.js';

export function registerCommands(program: Command): void {
  registerVersion(program);
  registerBuild(program);
  registerRun(program);
  registerRegistry(program);
  registerDebug(program);
  registerGraph(program);
  registerStore(program);
  registerImport(program);
  registerImagesIo(program);
  registerCache(program);
  registerHistory(program);
}
