// The HTTP server of the differential cases that ADD URLs (test/conformance/cases/url-*): one
// node:http server on 127.0.0.1 (a free port) serving each case's `http/` directory under
// http://127.0.0.1:PORT/<case>/ — the value of the build argument HTTP_BASE both builders get.
//
// A request for <case>/<rest> is answered:
//   1. by the route `<rest>` of the case's http/routes.json, if it has one: the key is the
//      request target as sent (after the case prefix; percent-encoding and query string as
//      they are); a key without its query string matches any query. A route is
//        { "status": 200, "headers": { "Name": "value" }, "file": "x" | "body": "text",
//          "gzip": true | "negotiate", "auth": "user:password" }
//      (all optional): the body is http/<file>, or `body`, or empty; with "gzip" it is sent
//      gzip-compressed with Content-Encoding: gzip (always, as an object store that keeps the
//      encoding does; "negotiate": only when the request's Accept-Encoding has gzip). In header
//      values {base} is the case's base URL and {origin} http://127.0.0.1:PORT (absolute redirects).
//      With "auth", a request without that Basic authorization gets 401.
//   2. else by the file http/<rest> (percent-decoded, query ignored), 200 with no extra headers;
//      (in both, '//' in the path counts as '/', as nginx's merge_slashes has it)
//   3. else 404.
// HEAD gets the same status and headers without a body. Every request is logged per case
// (method, target, user agent, Accept-Encoding, Authorization) for KILN_CONFORMANCE_DUMP
// (http-<case>.json).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

interface Route {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly file?: string;
  readonly body?: string;
  readonly gzip?: boolean | 'negotiate';
  readonly auth?: string;
}

export interface CaseHttpServer {
  /** http://127.0.0.1:PORT/<name>/ */
  baseUrl(name: string): string;
  /** Serves `dir` (a case's http/ directory) under baseUrl(name). */
  serve(name: string, dir: string): void;
  /** The requests made for a case so far, one line each. */
  requests(name: string): string[];
  close(): Promise<void>;
}

export async function startCaseHttpServer(): Promise<CaseHttpServer> {
  const dirs = new Map<string, string>();
  const logs = new Map<string, string[]>();
  let origin = '';

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '/';
    const m = /^\/([^/?]+)\/(.*)$/s.exec(target);
    const dir = m ? dirs.get(m[1]!) : undefined;
    if (!m || dir === undefined) return void res.writeHead(404).end();
    const name = m[1]!;
    // '//' in the path is '/' (nginx's merge_slashes)
    const rest = m[2]!.replace(/^[^?]*/s, (p) => p.replace(/\/{2,}/g, '/').replace(/^\//, ''));
    const authorization = req.headers.authorization ?? '';
    logs.get(name)?.push(`${req.method} ${rest} ua=${req.headers['user-agent'] ?? ''} ae=${req.headers['accept-encoding'] ?? ''}${authorization ? ` auth=${authorization}` : ''}`);
    const routes = existsSync(join(dir, 'routes.json')) ? (JSON.parse(readFileSync(join(dir, 'routes.json'), 'utf8')) as Record<string, Route>) : {};
    let route = routes[rest] ?? routes[rest.replace(/\?.*$/s, '')];
    if (route === undefined) {
      let file: string | undefined;
      try {
        file = join(dir, decodeURIComponent(rest.replace(/\?.*$/s, '')));
      } catch {
        file = undefined;
      }
      const ok = file !== undefined && file.startsWith(dir + sep) && file !== join(dir, 'routes.json') && existsSync(file) && statSync(file).isFile();
      route = ok ? { file: file!.slice(dir.length + 1) } : { status: 404, body: 'not found\n' };
    }
    if (route.auth !== undefined && authorization !== `Basic ${Buffer.from(route.auth).toString('base64')}`) {
      route = { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="case"' }, body: 'unauthorized\n' };
    }
    const fill = (v: string) => v.replaceAll('{base}', `${origin}/${name}/`).replaceAll('{origin}', origin);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(route.headers ?? {})) headers[k] = fill(v);
    let body = route.file !== undefined ? readFileSync(join(dir, route.file)) : Buffer.from(route.body ?? '');
    const gzip = route.gzip === true || (route.gzip === 'negotiate' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')));
    if (gzip) {
      body = gzipSync(body);
      headers['Content-Encoding'] = 'gzip';
    }
    const status = route.status ?? 200;
    const named = (h: string) => Object.keys(headers).some((k) => k.toLowerCase() === h);
    if (!named('content-length') && !named('transfer-encoding') && status !== 204 && status !== 304) headers['Content-Length'] = String(body.length);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server = createServer((req, res) => {
    try {
      answer(req, res);
    } catch (e) {
      if (!res.headersSent) res.writeHead(599);
      res.end(`case-http: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('case-http: no port');
  origin = `http://127.0.0.1:${addr.port}`;

  return {
    baseUrl: (name) => `${origin}/${name}/`,
    serve(name, dir) {
      dirs.set(name, resolve(dir));
      logs.set(name, []);
    },
    requests: (name) => [...(logs.get(name) ?? [])],
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
