/**
 * An HTTP proxy in front of an S3 gateway for fault tests: every request goes to `intercept` first, which
 * answers it itself (or leaves it hanging) and returns true, or returns false to have it forwarded.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface S3Proxy {
  endpoint: string;
  close(): Promise<void>;
}

export async function startS3Proxy(
  target: URL,
  intercept: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
): Promise<S3Proxy> {
  const sockets = new Set<Socket>();
  const proxy = http.createServer((req, res) => {
    if (intercept(req, res)) return;
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy(); // hanging requests included
      return new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
