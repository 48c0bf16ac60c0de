// HTTP helpers for the security tests: raw requests to a live API, bounded in time.
import type { TokenScope } from '../../core/types.js';

export interface ApiAnswer {
  status: number;
  text: string;
  json: unknown;
}

export interface RequestOptions {
  token?: string;
  /** A JSON value, or a string sent as it is. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export async function call(
  apiUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** Creates a token through the API with an admin token; returns its id and secret. */
export async function createToken(
  apiUrl: string,
  admin: string,
  name: string,
  scope: TokenScope,
  expiresInHours?: number,
): Promise<{ id: string; secret: string }> {
  const answer = await call(apiUrl, 'POST', '/v1/tokens', {
    token: admin,
    body: { name, scope, ...(expiresInHours !== undefined ? { expiresInHours } : {}) },
  });
  if (answer.status !== 201) throw new Error(`token create: ${answer.status} ${answer.text}`);
  const out = answer.json as { token: { id: string }; secret: string };
  return { id: out.token.id, secret: out.secret };
}

export interface OpenApiOperation {
  method: string;
  path: string;
  operationId: string;
  scopes: TokenScope[];
  /** Served without a token (`security: []`). */
  public: boolean;
  pathParams: string[];
  bodyRef?: string;
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        'x-cube-scopes': TokenScope[];
        security?: unknown[];
        parameters?: { name: string; in: string }[];
        requestBody?: { content: { 'application/json': { schema: { $ref: string } } } };
      }
    >
  >;
  components: { schemas: Record<string, unknown> };
}

/** The served document (public: `token` is optional) and its operations. */
export async function fetchOperations(
  apiUrl: string,
  token?: string,
): Promise<{ document: OpenApiDocument; operations: OpenApiOperation[] }> {
  const answer = await call(apiUrl, 'GET', '/v1/openapi.json', token ? { token } : {});
  if (answer.status !== 200) throw new Error(`openapi.json: ${answer.status} ${answer.text}`);
  const document = answer.json as OpenApiDocument;
  const operations: OpenApiOperation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const ref = op.requestBody?.content['application/json'].schema.$ref;
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        scopes: op['x-cube-scopes'],
        public: op.security?.length === 0,
        pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        ...(ref ? { bodyRef: ref.split('/').pop()! } : {}),
      });
    }
  }
  return { document, operations };
}

/** `/v1/tasks/{id}` with `{id}` replaced by `value(name)`, URL-encoded. */
export function fillPath(path: string, value: (name: string) => string): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(value(name)));
}
