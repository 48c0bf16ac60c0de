// Serves an API Gateway HTTP API (payload v2) handler over plain HTTP on loopback: each
// request becomes the event API Gateway would send, and the result goes back as it would.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { lambdaContext } from './lambdaContext.js';

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/** API Gateway's own payload limit is 10 MB; nothing Cube takes comes near 1 MiB. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The request target as a URL. A path ("origin-form") is read as a path even when it starts
 * with "//", which URL resolution would take for a host; a full URL ("absolute-form") is read
 * as one. Anything else is not a target this API serves: undefined.
 */
function parseTarget(target: string): URL | undefined {
  try {
    return target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target);
  } catch {
    return undefined;
  }
}

function toApiGatewayEvent(req: IncomingMessage, url: URL, body: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body ? { body } : {}),
    isBase64Encoded: false,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  const structured: APIGatewayProxyStructuredResultV2 =
    typeof result === 'string' || result === null || typeof result !== 'object'
      ? { statusCode: 200, body: JSON.stringify(result) }
      : (result as APIGatewayProxyStructuredResultV2);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(structured.headers ?? {})) headers[k] = String(v);
  const body = structured.isBase64Encoded
    ? Buffer.from(structured.body ?? '', 'base64')
    : (structured.body ?? '');
  res.writeHead(structured.statusCode ?? 200, headers);
  res.end(body);
}

function sendError(res: ServerResponse, status: number, error: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ error, message }));
}

export function serveHttpApi(
  handler: HttpApiHandler,
  options: { port: number; host?: string; log?: (line: string) => void },
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!tooLarge) sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'body: must be at most 1 MiB');
        tooLarge = true;
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      const url = parseTarget(req.url ?? '/');
      if (!url) {
        sendError(res, 400, 'BAD_REQUEST', 'request target: must be a path such as /v1/tasks');
        return;
      }
      const event = toApiGatewayEvent(req, url, Buffer.concat(chunks).toString('utf8'));
      handler(event, lambdaContext('cube-api'))
        .then((result) => send(res, result))
        .catch((error: unknown) => {
          options.log?.(`api: unhandled error: ${String(error)}`);
          sendError(res, 500, 'INTERNAL', 'internal error');
        });
    });
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({ server, url: `http://${host}:${port}` });
    });
  });
}
