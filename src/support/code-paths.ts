// Which parts of kiln this process ran, as a few coarse tags ("cmd:build", "step:run:miss").
// bin/kiln.js reads them after the command to decide whether the V8 code cache beside the bundle
// already holds this run's functions (docs/design/startup.md): a cache is only as good as the
// commands that ran before it was written, and `kiln version` compiles little of `kiln build`.

const seen = new Set<string>();

/** Records that this process ran the code path `tag` (cheap: call it freely). */
export function noteCodePath(tag: string): void {
  seen.add(tag);
}

/** The tags noted so far, in the order first noted. */
export function codePaths(): string[] {
  return [...seen];
}
