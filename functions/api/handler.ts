// The API function: API Gateway HTTP API (payload v2) -> middy -> router -> route.
// `apiRoutes` is the one route table: the router and GET /v1/openapi.json are built from it.
// A new route goes here with its scopes and schemas; routeTable.ts checks them before the
// handler runs.
import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { schedulerPlugins } from '../scheduler/plugins.js';
import { type AuthedContext, bearerAuth } from '../shared/auth.js';
import { bodyLimit } from '../shared/bodyLimit.js';
import { apiTokens } from '../shared/deps.js';
import { jsonErrors } from '../shared/httpErrors.js';
import { deployedTaskSpec } from './deployedSchemas.js';
import { EventListQuery, listEvents } from './events.js';
import {
  getServiceLogs,
  getTaskLogs,
  ServiceLogsParams,
  ServiceLogsQuery,
  TaskLogsQuery,
} from './logs.js';
import { cordonNode, drainNode, removeNode, uncordonNode } from './nodes.js';
import { openApiRoute } from './openapi.js';
import { getPlacementKey } from './placementKey.js';
import { type ApiRoute, isPublicRequest, routeNotFound, toRouterRoutes } from './routeTable.js';
import { dryRunSchedule } from './schedule.js';
import { serviceEndpointRoutes } from './services/endpoints.js';
import { serviceRoutes } from './services/routes.js';
import { getTask, listTasks, stopTask, submitTask, TaskIdParams, TaskListQuery } from './tasks.js';
import { createToken, listTokens, revokeToken, TokenCreateInput, TokenIdParams } from './tokens.js';
import {
  listNodes,
  NodeListQuery,
  registerWorker,
  WorkerKeyParams,
  WorkerRegistrationInput,
} from './workers.js';

const TaskSpec = { name: 'TaskSpec', schema: deployedTaskSpec };

export const apiRoutes: ApiRoute[] = [
  {
    method: 'POST',
    path: '/v1/tasks',
    operationId: 'submitTask',
    summary: 'Submit a task; it starts PENDING and is scheduled',
    scopes: ['submit'],
    body: TaskSpec,
    responses: { 201: 'The task record' },
    handler: submitTask,
  },
  {
    method: 'GET',
    path: '/v1/tasks',
    operationId: 'listTasks',
    summary:
      'List tasks a page at a time (limit, nextToken), optionally only some states, or those whose id starts with prefix',
    scopes: ['submit', 'read'],
    query: TaskListQuery,
    responses: { 200: '{ tasks, nextToken? }' },
    handler: listTasks,
  },
  {
    method: 'GET',
    path: '/v1/tasks/{id}',
    operationId: 'getTask',
    summary: 'A task and its event timeline',
    scopes: ['submit', 'read'],
    params: TaskIdParams,
    responses: { 200: '{ task, events }' },
    errors: [404],
    handler: getTask,
  },
  {
    method: 'GET',
    path: '/v1/tasks/{id}/logs',
    operationId: 'getTaskLogs',
    summary: "A page of one attempt's output (stdout and stderr, in order, with times)",
    scopes: ['submit', 'read'],
    params: TaskIdParams,
    query: TaskLogsQuery,
    responses: {
      200: '{ taskId, attempt, state, latestAttempt, ended, over, lines: [{ time, message }], nextToken }',
    },
    errors: [404],
    handler: getTaskLogs,
  },
  {
    method: 'GET',
    path: '/v1/services/{name}/logs',
    operationId: 'getServiceLogs',
    summary:
      "A page of a service's output: its current replicas' lines interleaved by time, each tagged with its replica",
    scopes: ['submit', 'read'],
    params: ServiceLogsParams,
    query: ServiceLogsQuery,
    responses: {
      200: '{ service, replicas, lines: [{ time, message, replica, taskId, id }], nextToken }',
    },
    errors: [404],
    handler: getServiceLogs,
  },
  {
    method: 'DELETE',
    path: '/v1/tasks/{id}',
    operationId: 'stopTask',
    summary: 'Stop a task',
    scopes: ['submit'],
    params: TaskIdParams,
    responses: { 202: '{ task }, STOPPING or STOPPED' },
    errors: [404, 409],
    handler: stopTask,
  },
  {
    method: 'GET',
    path: '/v1/nodes',
    operationId: 'listNodes',
    summary: 'List workers a page at a time (limit, nextToken)',
    scopes: ['submit', 'read'],
    query: NodeListQuery,
    responses: { 200: '{ nodes, nextToken? }' },
    handler: listNodes,
  },
  {
    method: 'DELETE',
    path: '/v1/nodes/{id}',
    operationId: 'removeNode',
    summary: 'Remove a DOWN worker (by id or name) and its queue now; a live one is refused',
    scopes: [],
    params: WorkerKeyParams,
    responses: { 200: '{ node }: the removed worker' },
    errors: [404, 409],
    handler: removeNode,
  },
  {
    method: 'GET',
    path: '/v1/events',
    operationId: 'listEvents',
    summary:
      "The cluster's timeline, oldest first from since: task transitions, workers, failed placements, services",
    scopes: ['submit', 'read'],
    query: EventListQuery,
    responses: { 200: '{ events, nextToken? }' },
    handler: listEvents,
  },
  {
    method: 'POST',
    path: '/v1/workers',
    operationId: 'registerWorker',
    summary: 'Register (or re-register) a worker and get its queue',
    scopes: ['worker'],
    body: { name: 'WorkerRegistration', schema: WorkerRegistrationInput },
    responses: { 201: '{ worker, queueUrl, config }' },
    // Another live daemon holds the name (WORKER_NAME_TAKEN, with Retry-After), or the worker
    // pinned another placement key than this control plane's (PLACEMENT_KEY_MISMATCH).
    errors: [409],
    handler: registerWorker,
  },
  {
    method: 'GET',
    path: '/v1/placement-key',
    operationId: 'getPlacementKey',
    summary:
      "The control plane's public key for signed placements (what a worker pins) and its fingerprint",
    // A public key holds no secret, but it is the cluster's: any valid token, not anyone.
    scopes: 'any',
    responses: { 200: '{ algorithm, publicKey: "ed25519:...", fingerprint: "SHA256:..." }' },
    handler: getPlacementKey,
  },
  {
    method: 'POST',
    path: '/v1/nodes/{id}/cordon',
    operationId: 'cordonNode',
    summary: 'Stop placing new tasks on a worker (by id or name)',
    scopes: [],
    params: WorkerKeyParams,
    responses: { 200: '{ node }' },
    errors: [404, 409],
    handler: cordonNode,
  },
  {
    method: 'POST',
    path: '/v1/nodes/{id}/uncordon',
    operationId: 'uncordonNode',
    summary: 'Let a cordoned worker take new tasks again',
    scopes: [],
    params: WorkerKeyParams,
    responses: { 200: '{ node }' },
    errors: [404, 409],
    handler: uncordonNode,
  },
  {
    method: 'POST',
    path: '/v1/nodes/{id}/drain',
    operationId: 'drainNode',
    summary: 'Cordon a worker and move its tasks elsewhere',
    scopes: [],
    params: WorkerKeyParams,
    responses: { 202: '{ node, stopping, skipped }' },
    errors: [404, 409],
    handler: drainNode,
  },
  {
    method: 'POST',
    path: '/v1/schedule/dry-run',
    operationId: 'dryRunSchedule',
    summary: 'Where a task spec would be placed now, and why; places nothing',
    scopes: ['submit', 'read'],
    body: TaskSpec,
    responses: { 200: '{ policy, placed, workerId?, reason, explanation }' },
    handler: dryRunSchedule,
  },
  {
    method: 'POST',
    path: '/v1/tokens',
    operationId: 'createToken',
    summary: 'Create an API token; its secret is in this answer only',
    scopes: [],
    body: { name: 'TokenCreate', schema: TokenCreateInput },
    responses: { 201: '{ token, secret }' },
    handler: createToken,
  },
  {
    method: 'GET',
    path: '/v1/tokens',
    operationId: 'listTokens',
    summary: 'List API tokens (ids, names, scopes, expiry; never secrets)',
    scopes: [],
    responses: { 200: '{ tokens }' },
    handler: listTokens,
  },
  {
    method: 'DELETE',
    path: '/v1/tokens/{id}',
    operationId: 'revokeToken',
    summary: 'Revoke an API token by its id',
    scopes: [],
    params: TokenIdParams,
    responses: { 200: '{ token }' },
    errors: [404],
    handler: revokeToken,
  },
  ...serviceRoutes,
  ...serviceEndpointRoutes,
  openApiRoute(() => apiRoutes),
];

export const handler = middy<
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  Error,
  AuthedContext
>()
  .use(jsonErrors())
  .use(bodyLimit())
  .use(bearerAuth(apiTokens, isPublicRequest(apiRoutes)))
  .use(schedulerPlugins())
  .handler(
    httpRouterHandler({
      routes: toRouterRoutes(apiRoutes),
      notFoundResponse: routeNotFound(apiRoutes),
    }) as never,
  );
