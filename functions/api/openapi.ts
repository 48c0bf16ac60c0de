// GET /v1/openapi.json: the OpenAPI 3.1 document, built from the route table and the same
// zod schemas that validate each request, so it describes exactly what is enforced.
import { z } from 'zod';
import { type ApiRoute, bodySchema, routeScopes } from './routeTable.js';

type JsonSchema = Record<string, unknown>;

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'A stable code, e.g. VALIDATION_FAILED' },
    message: { type: 'string', description: 'What is wrong: the field, then the rule' },
  },
};

const ERROR_TEXT: Record<number, string> = {
  400: 'The request breaks a rule; the message names the field and the rule',
  401: 'Missing, invalid, expired or revoked token',
  403: "The token's scope does not allow this route",
  404: 'No such resource',
  405: 'The path takes other methods',
  409: 'The resource changed meanwhile or is in a state that refuses this',
  413: 'The body is larger than 256 KiB',
};

/** A zod schema as the document writes it (its input side). */
export function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
    schema: jsonSchema(field as z.ZodType),
  }));
}

const errorResponse = (status: number) => ({
  description: ERROR_TEXT[status] ?? 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

export function buildOpenApiDocument(routes: readonly ApiRoute[]): JsonSchema {
  const schemas: Record<string, JsonSchema> = { Error: ERROR_SCHEMA };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (route.body && !schemas[route.body.name]) {
      schemas[route.body.name] = jsonSchema(bodySchema(route.body));
    }
    const scopes = routeScopes(route);
    const open = route.scopes === 'public';
    const errorStatuses = new Set([
      400,
      ...(open ? [] : [401]),
      ...(typeof route.scopes === 'string' ? [] : [403]),
      ...(route.body ? [413] : []),
      ...(route.errors ?? []),
    ]);
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(route.responses)) {
      responses[status] = {
        description,
        content: { 'application/json': { schema: { type: 'object' } } },
      };
    }
    for (const status of [...errorStatuses].sort((a, b) => a - b))
      responses[String(status)] = errorResponse(status);
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      description: open ? 'Public: no token needed.' : `Scopes: ${scopes.join(', ')}.`,
      // An empty list: no token needed (OpenAPI 3.1, Security Requirement Object).
      security: open ? [] : [{ bearerAuth: scopes }],
      'x-cube-scopes': scopes,
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: { $ref: `#/components/schemas/${route.body.name}` } },
              },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cube API',
      version: 'v1',
      description:
        'The control plane of Cube. Every route but this document takes ' +
        '`Authorization: Bearer <token>`; a token has one scope (admin, submit, read or ' +
        'worker) and admin may call every route. A path called with a method it does not ' +
        'take answers 405 with an `Allow` header listing the methods it does take. ' +
        'The schemas are the ones the API validates with, so a request they allow is ' +
        'refused only for a reason of state (404, 409). Rules JSON Schema has no keyword ' +
        "for use this document's own: `x-cube-maxTotalLength` (characters, as `maxLength` " +
        'counts them, of all strings of an array or all keys and values of an object); ' +
        '`x-cube-uniqueBy` (no two items share a key; each part of the key is the first ' +
        "listed field an item gives, else that field's default); `x-cube-distinctNames` (no " +
        'name is given twice across its sources: the keys of the object field `keysOf`, the ' +
        'field `field` of each item of the array field `itemsOf`); `x-cube-ordered` (the ' +
        'number `field` is more than `than`, or at least it with `orEqual`, an absent one ' +
        'counting as its `default`); `x-cube-sameWhenGiven` (when an object gives both ' +
        'fields, they are equal); `x-cube-equalsPathParameter` (the field, when given, ' +
        'equals that path parameter); `x-cube-fromAnswer` (only a value an earlier answer to ' +
        'the same query gave in that field, such as a nextToken; any other is refused, 400).',
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      schemas,
    },
    security: [{ bearerAuth: [] }],
    paths,
  };
}

/** The route that serves the document of `routes()` (a thunk: the table includes it). */
export function openApiRoute(routes: () => readonly ApiRoute[]): ApiRoute {
  let document: string | undefined;
  return {
    method: 'GET',
    path: '/v1/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI 3.1 document (public: it holds no secret)',
    scopes: 'public',
    responses: { 200: 'The document' },
    handler: async () => {
      document ??= JSON.stringify(buildOpenApiDocument(routes()));
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: document };
    },
  };
}
