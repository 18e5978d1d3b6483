// Real Git servers on 127.0.0.1 for tests of Git sources: `git daemon` (git:// URLs) and smart
// HTTP through `git http-backend` (the CGI program git ships) behind a small node:http server.
// Both serve the bare repositories under one directory; helpers make repositories with fixed
// authors and dates, so commits are the same in every run.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, type TestContext } from 'node:test';
import { freePort } from './registry.js';
import { isRoot, prereq, which } from './prereq.js';

const GIT_CORE = '/usr/lib/git-core';

/** True when git, git daemon and git http-backend are installed (for prereq()). */
export function haveGitServers(): boolean {
  return which('git') !== undefined && which(join(GIT_CORE, 'git-daemon')) !== undefined && which(join(GIT_CORE, 'git-http-backend')) !== undefined;
}

/** Environment for git commands run by tests: no user or system config, fixed identity and dates. */
export const GIT_ENV: Record<string, string> = {
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'kiln test',
  GIT_AUTHOR_EMAIL: 'test@kiln.invalid',
  GIT_COMMITTER_NAME: 'kiln test',
  GIT_COMMITTER_EMAIL: 'test@kiln.invalid',
  GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z',
  GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z',
  LC_ALL: 'C',
};

/** Runs git in `cwd` and returns its trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'protocol.file.allow=always', ...args], { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface GitServer {
  /** Where the bare repositories live: `<root>/<name>.git`. */
  readonly root: string;
  /** `git://127.0.0.1:PORT/<name>.git` */
  gitUrl(name: string): string;
  /** `http://127.0.0.1:PORT/<name>.git` (smart HTTP) */
  httpUrl(name: string): string;
  /** Makes `<root>/<name>.git` from a work tree: `git push --mirror` of all its refs. */
  publish(workTree: string, name: string): void;
  stop(): Promise<void>;
}

async function waitForPort(port: number, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`git daemon exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`git daemon did not listen on 127.0.0.1:${port}`);
}

/** One git http-backend request: CGI environment in, `Status:` and headers, then the body out. */
function httpBackend(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: '127.0.0.1',
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: String(req.headers['content-length']) } : {}),
  };
  const cgi = spawn(join(GIT_CORE, 'git-http-backend'), [], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let sent = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (sent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    const endLf = head.indexOf('\n\n');
    const cut = end >= 0 ? end : endLf;
    if (cut < 0) return;
    const sep = end >= 0 ? 4 : 2;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, cut).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const k = line.slice(0, colon).trim();
      const v = line.slice(colon + 1).trim();
      if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    sent = true;
    res.write(head.subarray(cut + sep));
  });
  cgi.on('close', () => {
    if (!sent) res.writeHead(500).end();
    else res.end();
  });
}

/** Starts git daemon and a smart HTTP server on free 127.0.0.1 ports, serving a new temp dir. */
export async function startGitServer(): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), 'kiln-git-server-'));
  const port = await freePort();
  const daemon = spawn('git', ['daemon', `--listen=127.0.0.1`, `--port=${port}`, `--base-path=${root}`, '--export-all', '--reuseaddr', root], { env: GIT_ENV, stdio: 'ignore' });
  const server = http.createServer((req, res) => httpBackend(root, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const httpPort = (server.address() as net.AddressInfo).port;
  try {
    await waitForPort(port, daemon);
  } catch (e) {
    daemon.kill('SIGKILL');
    server.close();
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    root,
    gitUrl: (name) => `git://127.0.0.1:${port}/${name}.git`,
    httpUrl: (name) => `http://127.0.0.1:${httpPort}/${name}.git`,
    publish(workTree, name) {
      const bare = join(root, `${name}.git`);
      mkdirSync(bare, { recursive: true });
      git(bare, 'init', '-q', '--bare');
      git(workTree, 'push', '-q', '--mirror', bare);
      const head = git(workTree, 'symbolic-ref', 'HEAD');
      git(bare, 'symbolic-ref', 'HEAD', head);
    },
    async stop() {
      const exited = new Promise<void>((resolve) => (daemon.exitCode !== null ? resolve() : daemon.once('exit', () => resolve())));
      daemon.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A new work tree (`git init -b main`) in `dir` with `files` (path → content; mode 0755 when it starts with `#!`). */
export function makeRepo(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFiles(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  return git(dir, 'rev-parse', 'HEAD');
}

/** Writes files into a work tree (symlinks as `-> target`). */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    const abs = join(dir, p);
    mkdirSync(join(abs, '..'), { recursive: true });
    rmSync(abs, { force: true });
    if (content.startsWith('-> ')) symlinkSync(content.slice(3), abs);
    else {
      writeFileSync(abs, content);
      chmodSync(abs, content.startsWith('#!') ? 0o755 : 0o644);
    }
  }
}

/** The commits of publishFixture's `proj`. */
export interface GitFixture {
  /** Tags v1 (lightweight) and v1a (annotated) point here: no submodule, hello.txt "hello". */
  readonly v1: string;
  /** main: hello.txt "hello v2" and the submodule vendor/lib (`lib`, over git://). */
  readonly main: string;
}

/** The files of `proj` at v1: a Dockerfile for a context build, one in sub/, one elsewhere, a .dockerignore. */
export const FIXTURE_FILES: Record<string, string> = {
  'hello.txt': 'hello\n',
  'run.sh': '#!/bin/sh\necho run\n',
  link: '-> hello.txt',
  'sub/deep/d.txt': 'deep\n',
  'sub/Dockerfile': 'FROM scratch\nCOPY . /subctx/\n',
  Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
  'build/Other.df': 'FROM scratch\nCOPY hello.txt /other.txt\n',
  '.dockerignore': 'hello.txt\n',
};

/** Publishes `lib` and `proj` (see GitFixture) on `server`, from work trees under `work`. */
export function publishFixture(server: GitServer, work: string): GitFixture {
  const lib = join(work, 'lib-src');
  makeRepo(lib, { 'lib.txt': 'from the submodule\n' });
  server.publish(lib, 'lib');
  const proj = join(work, 'proj-src');
  const v1 = makeRepo(proj, FIXTURE_FILES);
  git(proj, 'tag', 'v1');
  git(proj, 'tag', '-a', 'v1a', '-m', 'annotated');
  writeFiles(proj, { 'hello.txt': 'hello v2\n' });
  git(proj, 'submodule', '--quiet', 'add', server.gitUrl('lib'), 'vendor/lib');
  git(proj, 'add', '-A');
  git(proj, 'commit', '-q', '-m', 'second');
  server.publish(proj, 'proj');
  return { v1, main: git(proj, 'rev-parse', 'HEAD') };
}

/**
 * One test file's Git servers with publishFixture's repositories, a work dir and a kiln store in
 * it: started before the file's tests when running as root with git's servers installed (else
 * each test skips, or fails under CI=true), stopped and removed after them.
 */
export class GitSuite {
  work = '';
  /** The kiln store (KILN_ROOT). */
  root = '';
  server: GitServer | undefined;
  fx: GitFixture = { v1: '', main: '' };
  readonly ready = isRoot && haveGitServers();

  constructor(prefix: string) {
    before(async () => {
      if (!this.ready) return;
      this.work = mkdtempSync(join(tmpdir(), prefix));
      this.root = join(this.work, 'root');
      this.server = await startGitServer();
      this.fx = publishFixture(this.server, this.work);
    });
    after(async () => {
      await this.server?.stop();
      if (this.work) rmSync(this.work, { recursive: true, force: true });
    });
  }

  check(t: TestContext): boolean {
    return prereq(t, this.ready, 'root, git, git daemon and git http-backend');
  }

  /** The checkouts kiln left in its store's temp dir (none once a build is over). */
  temps(): string[] {
    const tmp = join(this.root, 'build', 'tmp');
    return existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('kiln-git-')) : [];
  }
}
