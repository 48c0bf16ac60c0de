// The API's routes as data: method, path, who may call, what it takes. The router (here) and
// the OpenAPI document (openapi.ts) are both built from the one table in handler.ts, so what
// is served and what is documented cannot drift apart. Every route's scope, path and query
// parameters and body are checked here, before its handler runs.
import type { Route } from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { toValidationError } from '../../core/taskSpec.js';
import type { TokenScope } from '../../core/types.js';
import { type AuthedContext, requireScope } from '../shared/auth.js';
import { HttpError } from '../shared/httpErrors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type RouteHandler = (
  event: APIGatewayProxyEventV2,
  context: AuthedContext,
) => Promise<APIGatewayProxyResultV2>;

/**
 * A request body schema and the name the OpenAPI document gives it; a function when it
 * depends on the control plane's configuration (read when a request or the document needs it).
 */
export interface NamedSchema {
  name: string;
  schema: z.ZodType | (() => z.ZodType);
}

export const bodySchema = (body: NamedSchema): z.ZodType =>
  typeof body.schema === 'function' ? body.schema() : body.schema;

export interface ApiRoute {
  method: HttpMethod;
  /** `/v1/tasks/{id}`: parameters in braces, as OpenAPI writes them. */
  path: string;
  operationId: string;
  summary: string;
  /**
   * Scopes that may call it besides admin (which always may); `any`: every valid token;
   * `public`: anyone, with or without a token (only for what holds no secret).
   */
  scopes: readonly Exclude<TokenScope, 'admin'>[] | 'any' | 'public';
  /** Path parameters, decoded; required when the path has any. */
  params?: z.ZodObject;
  /** Query parameters; a route without this schema takes none. */
  query?: z.ZodObject;
  /** JSON body; a route without this schema takes none. The handler gets the parsed JSON. */
  body?: NamedSchema;
  /** Success statuses and what they mean. */
  responses: Record<number, string>;
  /** Error statuses besides those any route may answer (400, 401, 403, 413). */
  errors?: number[];
  handler: RouteHandler;
}

/** The scopes allowed to call a route, admin included, as the document lists them. */
export const routeScopes = (route: ApiRoute): TokenScope[] =>
  typeof route.scopes === 'string'
    ? ['admin', 'submit', 'read', 'worker']
    : ['admin', ...route.scopes];

/** For bearerAuth: whether a request is for a public route (answered without a token). */
export function isPublicRequest(routes: readonly ApiRoute[]) {
  const open = new Set(
    routes.filter((r) => r.scopes === 'public').map((r) => `${r.method} ${r.path}`),
  );
  return (event: APIGatewayProxyEventV2): boolean =>
    open.has(`${event.requestContext?.http?.method} ${event.requestContext?.http?.path}`);
}

/** The first issue as a ValidationError naming the field and rule (`where` at the root). */
function firstIssue(error: z.ZodError, where: 'body' | 'query' | 'path'): ValidationError {
  const issue = error.issues[0];
  if (where === 'query' && issue?.code === 'unrecognized_keys') {
    return new ValidationError(String(issue.keys[0]).slice(0, 64), 'unknown query parameter');
  }
  const found = toValidationError(error);
  if (!found.field) return new ValidationError(where, found.rule);
  // A field name is the caller's own text (an unknown key): echo only the start of it.
  return found.field.length > 200
    ? new ValidationError(`${found.field.slice(0, 200)}…`, found.rule)
    : found;
}

function decodePathParameter(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError(name, 'must be correctly percent-encoded');
  }
}

function parseBody(route: ApiRoute, event: APIGatewayProxyEventV2): unknown {
  const raw = event.body as unknown;
  const text =
    typeof raw !== 'string'
      ? ''
      : event.isBase64Encoded
        ? Buffer.from(raw, 'base64').toString('utf8')
        : raw;
  if (!route.body) {
    if (text.trim() !== '') {
      throw new ValidationError('body', 'must be empty: this route takes no body');
    }
    return undefined;
  }
  if (text.trim() === '') throw new ValidationError('body', 'is required: a JSON document');
  // A YAML body (Content-Type application/yaml) is read as the JSON it parses to.
  const yaml = /yaml/i.test(event.headers?.['content-type'] ?? '');
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch {
    throw new ValidationError('body', `must be a ${yaml ? 'YAML' : 'JSON'} document`);
  }
  const parsed = bodySchema(route.body).safeParse(value);
  if (!parsed.success) throw firstIssue(parsed.error, 'body');
  return value;
}

/** Scope first (403 before 400), then path, query and body; the handler sees them checked. */
export function guardRoute(route: ApiRoute): RouteHandler {
  return async (event, context) => {
    if (typeof route.scopes !== 'string') requireScope(context, route.scopes);
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
      if (value !== undefined) params[name] = decodePathParameter(name, value);
    }
    if (route.params) {
      const parsed = route.params.safeParse(params);
      if (!parsed.success) throw firstIssue(parsed.error, 'path');
    }
    const query = event.queryStringParameters ?? {};
    if (route.query) {
      const parsed = route.query.safeParse(query);
      if (!parsed.success) throw firstIssue(parsed.error, 'query');
    } else {
      const unknown = Object.keys(query)[0];
      if (unknown !== undefined) {
        throw new ValidationError(unknown.slice(0, 64), 'unknown query parameter');
      }
    }
    const body = parseBody(route, event);
    const checked = {
      ...event,
      pathParameters: params,
      body: body as never,
    } as APIGatewayProxyEventV2;
    return route.handler(checked, context);
  };
}

const pathPattern = (path: string) => new RegExp(`^${path.replace(/\{[^/]+\}/g, '[^/]+')}/?$`);

export function toRouterRoutes(
  routes: readonly ApiRoute[],
): Route<APIGatewayProxyEventV2, APIGatewayProxyResultV2>[] {
  return routes.map((route) => ({
    method: route.method,
    path: route.path,
    handler: guardRoute(route) as never,
  }));
}

/**
 * For @middy/http-router: 405 naming the methods a known path takes, in the message and in
 * the `Allow` header (RFC 9110), else 404.
 */
export function routeNotFound(routes: readonly ApiRoute[]) {
  const patterns = routes.map((route) => ({ route, pattern: pathPattern(route.path) }));
  return ({ method, path }: { method: string; path: string }): never => {
    const allowed = [
      ...new Set(patterns.filter((p) => p.pattern.test(path)).map((p) => p.route.method)),
    ];
    // A method the path takes but the router did not match (a trailing slash on a static
    // path, say) is a path that does not exist, not a wrong method.
    if (allowed.length > 0 && !allowed.includes(method as HttpMethod)) {
      throw new HttpError(
        405,
        'METHOD_NOT_ALLOWED',
        `method: ${method.slice(0, 16)} is not allowed here; use ${allowed.join(' or ')}`,
        { allow: allowed.join(', ') },
      );
    }
    throw new HttpError(404, 'NOT_FOUND', 'path: no such route; see GET /v1/openapi.json');
  };
}
