// The API function: API Gateway HTTP API (payload v2) -> middy -> router -> route.
import middy from '@middy/core';
import jsonBodyParser from '@middy/http-json-body-parser';
import httpRouterHandler, { type Route } from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { type AuthedContext, bearerAuth } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonErrors } from '../shared/httpErrors.js';
import { getTask, listTasks, stopTask, submitTask } from './tasks.js';
import { listNodes, registerWorker } from './workers.js';

type RouteHandler = (
  event: APIGatewayProxyEventV2,
  context: AuthedContext,
) => Promise<APIGatewayProxyResultV2>;

const withJsonBody = (handler: RouteHandler) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, AuthedContext>()
    // Any body is parsed as JSON, whatever its content-type (the typings lag the option).
    .use(jsonBodyParser({ disableContentTypeCheck: true } as never))
    .handler(handler);

const routes: Route<APIGatewayProxyEventV2, APIGatewayProxyResultV2>[] = [
  { method: 'POST', path: '/v1/tasks', handler: withJsonBody(submitTask) },
  { method: 'GET', path: '/v1/tasks', handler: listTasks },
  { method: 'GET', path: '/v1/tasks/{id}', handler: getTask },
  { method: 'DELETE', path: '/v1/tasks/{id}', handler: stopTask },
  { method: 'GET', path: '/v1/nodes', handler: listNodes },
  { method: 'POST', path: '/v1/workers', handler: withJsonBody(registerWorker) },
];

export const handler = middy<
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  Error,
  AuthedContext
>()
  .use(jsonErrors())
  .use(bearerAuth(() => getDeps().tokens))
  .handler(httpRouterHandler(routes) as never);
