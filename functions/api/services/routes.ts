// The /v1/services routes, with their scopes (as for tasks: submit changes, read reads, admin
// everything) and schemas; handler.ts adds them to the one route table.
import { z } from 'zod';
import { serviceName } from '../../../core/services/spec.js';
import { deployedServiceSpec } from '../deployedSchemas.js';
import type { ApiRoute } from '../routeTable.js';
import { ApplyQuery, applyService } from './apply.js';
import {
  deleteService,
  RollbackInput,
  rollbackService,
  ScaleInput,
  scaleService,
} from './manage.js';
import { getService, listRevisions, listServices } from './read.js';

const NameParams = z.strictObject({ name: serviceName });

export const serviceRoutes: ApiRoute[] = [
  {
    method: 'PUT',
    path: '/v1/services/{name}',
    operationId: 'applyService',
    summary:
      'Apply a service spec: same spec, nothing; new task spec, a new revision rolled out; replicas alone, a scale. ?version=N: only if still at specVersion N (0: new). ?dryRun=true: the diff and where new replicas would go, writing nothing',
    scopes: ['submit'],
    params: NameParams,
    query: ApplyQuery,
    body: { name: 'ServiceSpec', schema: deployedServiceSpec },
    responses: {
      200: '{ change, changes, service } (or, with dryRun, { dryRun, change, revision, changes, policy, placements })',
      201: '{ change: created, changes, service }',
    },
    errors: [409],
    handler: applyService,
  },
  {
    method: 'GET',
    path: '/v1/services',
    operationId: 'listServices',
    summary: 'List services with their replica counts and rollout state',
    scopes: ['submit', 'read'],
    responses: { 200: '{ services }' },
    handler: listServices,
  },
  {
    method: 'GET',
    path: '/v1/services/{name}',
    operationId: 'getService',
    summary: 'A service: counts, revision, rollout state and reason, replicas, recent events',
    scopes: ['submit', 'read'],
    params: NameParams,
    responses: { 200: '{ service, events }' },
    errors: [404],
    handler: getService,
  },
  {
    method: 'GET',
    path: '/v1/services/{name}/revisions',
    operationId: 'listServiceRevisions',
    summary: 'The kept revisions (the last 10), newest first',
    scopes: ['submit', 'read'],
    params: NameParams,
    responses: { 200: '{ revisions }' },
    errors: [404],
    handler: listRevisions,
  },
  {
    method: 'POST',
    path: '/v1/services/{name}/scale',
    operationId: 'scaleService',
    summary: 'Change the number of replicas (no new revision)',
    scopes: ['submit'],
    params: NameParams,
    body: { name: 'ServiceScale', schema: ScaleInput },
    responses: { 200: '{ service }' },
    errors: [404, 409],
    handler: scaleService,
  },
  {
    method: 'POST',
    path: '/v1/services/{name}/rollback',
    operationId: 'rollbackService',
    summary: 'Roll a kept revision (default: the one before the current) forward again',
    scopes: ['submit'],
    params: NameParams,
    body: { name: 'ServiceRollback', schema: RollbackInput },
    responses: { 200: '{ service }' },
    errors: [404, 409],
    handler: rollbackService,
  },
  {
    method: 'DELETE',
    path: '/v1/services/{name}',
    operationId: 'deleteService',
    summary: 'Delete a service: every replica is stopped, then the service is gone',
    scopes: ['submit'],
    params: NameParams,
    responses: { 202: '{ service } (rollout.state deleting)' },
    errors: [404],
    handler: deleteService,
  },
];
