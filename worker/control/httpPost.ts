// One JSON POST over node:http(s), for the worker's registration. Not fetch: fetch loads
// undici, its WebAssembly HTTP parser, web streams and http2 — ~14 MB resident in a daemon
// that makes this one call at start (a node:http request costs ~3.6 MB; bench:footprint).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PostInit {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal;
}

/** What the caller reads of an answer: the subset of fetch's Response it uses. */
export interface PostResponse {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  headers?: { get(name: string): string | null };
}

export type HttpPost = (url: string, init: PostInit) => Promise<PostResponse>;

export const httpPost: HttpPost = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = Buffer.from(init.body);
    const req = request(
      target,
      {
        method: init.method,
        headers: { ...init.headers, 'content-length': String(body.length) },
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          const headers = {
            get: (name: string) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
            },
          };
          resolve({ ok: status >= 200 && status < 300, status, text: async () => text, headers });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
