/**
 * Health probes for the control-plane components: one HTTP(S) GET with a short timeout that resolves to the
 * status code and body, and never rejects (a refused connection is just "not ready yet").
 */
import http from 'node:http';
import https from 'node:https';

/** Result of one probe; `status` 0 means no HTTP response (connection refused, timeout, TLS failure). */
export interface ProbeResult {
  status: number;
  body: string;
  error?: string;
}

/** TLS material for HTTPS probes; `insecure` skips server verification (the controller manager's self-signed cert). */
export interface ProbeTls {
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
}

/** GETs `url` and resolves with the status and body (at most 64 KiB). */
export function probe(url: string, tls: ProbeTls = {}, timeoutMs = 3_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const isHttps = url.startsWith('https:');
    const options: https.RequestOptions = isHttps
      ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: timeoutMs }
      : { timeout: timeoutMs };
    const req = (isHttps ? https : http).get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 65_536) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ status: 0, body, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs}ms`)));
    req.on('error', (err) => resolve({ status: 0, body: '', error: err.message }));
  });
}
