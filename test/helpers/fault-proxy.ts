// A fault-injecting HTTP proxy in front of a real registry on 127.0.0.1: answers chosen requests
// with an error status, cuts a response body after N bytes, or flips a byte of it. Everything else
// is forwarded unchanged (the Host header too, so upload Locations point back at the proxy).
import http from 'node:http';
import type net from 'node:net';

export type Fault =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | { readonly cutAfter: number }
  | { readonly corrupt: true }
  /** Forward only the first N bytes of the request body upstream, then break both connections. */
  | { readonly cutRequestAfter: number };

export interface ProxyRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** Every request seen, in order. */
  readonly log: ProxyRequest[];
  /** Decides a fault per request (undefined = forward). Replace at will. */
  fault: (r: ProxyRequest, n: number) => Fault | undefined;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const log: ProxyRequest[] = [];
  const sockets = new Set<net.Socket>();
  const proxy: FaultProxy = {
    host: '',
    port: 0,
    log,
    fault: () => undefined,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server = http.createServer((req, res) => {
    const r: ProxyRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    log.push(r);
    const f = proxy.fault(r, log.length);
    if (f && 'status' in f) {
      req.resume();
      res.writeHead(f.status, { 'content-type': 'application/json', ...f.headers }).end(f.body ?? '');
      return;
    }
    if (f && 'cutRequestAfter' in f) {
      const partial = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (ures) => ures.resume());
      partial.on('error', () => undefined);
      let forwarded = 0;
      let cut = false;
      req.on('data', (chunk: Buffer) => {
        if (cut) return;
        const part = chunk.subarray(0, f.cutRequestAfter - forwarded);
        forwarded += part.length;
        partial.write(part);
        if (forwarded >= f.cutRequestAfter) {
          cut = true;
          setTimeout(() => {
            partial.destroy();
            req.socket.destroy();
          }, 50);
        }
      });
      return;
    }
    const up = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        if (!f) {
          ures.pipe(res);
          return;
        }
        let sent = 0;
        let flipped = false;
        ures.on('data', (chunk: Buffer) => {
          if ('cutAfter' in f) {
            const room = f.cutAfter - sent;
            if (room <= 0) return;
            const part = chunk.subarray(0, room);
            sent += part.length;
            res.write(part);
            if (sent >= f.cutAfter) {
              ures.destroy();
              // let the bytes reach the client, then break the connection mid-body
              setTimeout(() => res.socket?.destroy(), 20);
            }
          } else {
            if (!flipped && chunk.length > 0) {
              chunk = Buffer.from(chunk);
              chunk[0] = chunk[0]! ^ 0xff;
              flipped = true;
            }
            res.write(chunk);
          }
        });
        ures.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  Object.assign(proxy, { host: `127.0.0.1:${port}`, port });
  return proxy;
}
