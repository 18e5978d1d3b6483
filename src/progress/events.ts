// What a build reports while it runs. build/ emits these through an `onEvent` callback; cli/
// renders them (tty, plain, rawjson). Step ids are small integers in start order, like BuildKit's #N.

export type ProgressEvent =
  /** A step (or an internal action such as loading a base image) started. */
  | { readonly type: 'step.start'; readonly id: number; readonly stage: string; readonly name: string; readonly pos?: string; readonly time: number }
  /** The step's result came from the cache; `why` absent. */
  | { readonly type: 'step.cached'; readonly id: number; readonly time: number }
  /** Output of a running step. */
  | { readonly type: 'step.log'; readonly id: number; readonly stream: 'stdout' | 'stderr'; readonly text: string; readonly time: number }
  /** Why a step could not come from the cache (the first input that changed). */
  | { readonly type: 'step.miss'; readonly id: number; readonly reason: string; readonly time: number }
  | { readonly type: 'step.done'; readonly id: number; readonly ms: number; readonly time: number }
  | { readonly type: 'step.error'; readonly id: number; readonly message: string; readonly time: number }
  /** Bytes moved for a blob (pull, push, layer write). */
  | { readonly type: 'blob.progress'; readonly id: number; readonly digest: string; readonly done: number; readonly total?: number; readonly time: number }
  /** A warning to show the user (unused build arg, ...). */
  | { readonly type: 'warning'; readonly message: string; readonly time: number };

export type ProgressSink = (e: ProgressEvent) => void;

/** Hands out step ids in order and stamps times. */
export class ProgressEmitter {
  private next = 1;
  constructor(private readonly sink: ProgressSink = () => undefined) {}

  start(stage: string, name: string, pos?: string): number {
    const id = this.next++;
    this.sink(pos === undefined ? { type: 'step.start', id, stage, name, time: Date.now() } : { type: 'step.start', id, stage, name, pos, time: Date.now() });
    return id;
  }
  cached(id: number): void {
    this.sink({ type: 'step.cached', id, time: Date.now() });
  }
  miss(id: number, reason: string): void {
    this.sink({ type: 'step.miss', id, reason, time: Date.now() });
  }
  log(id: number, stream: 'stdout' | 'stderr', text: string): void {
    this.sink({ type: 'step.log', id, stream, text, time: Date.now() });
  }
  done(id: number, ms: number): void {
    this.sink({ type: 'step.done', id, ms, time: Date.now() });
  }
  error(id: number, message: string): void {
    this.sink({ type: 'step.error', id, message, time: Date.now() });
  }
  blob(id: number, digest: string, done: number, total?: number): void {
    this.sink(total === undefined ? { type: 'blob.progress', id, digest, done, time: Date.now() } : { type: 'blob.progress', id, digest, done, total, time: Date.now() });
  }
  warn(message: string): void {
    this.sink({ type: 'warning', message, time: Date.now() });
  }
}
