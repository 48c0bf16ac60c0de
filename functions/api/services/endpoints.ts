// GET /v1/services/{name}/endpoints: where the service's healthy replicas answer, per
// container port, from the host ports their engines actually bound (core/endpoints.ts).
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { endpointsOf } from '../../../core/endpoints.js';
import { NotFoundError } from '../../../core/errors.js';
import { isHealthy } from '../../../core/services/replicas.js';
import { serviceName } from '../../../core/services/spec.js';
import type { TaskRecord } from '../../../core/types.js';
import { getDeps } from '../../shared/deps.js';
import { jsonResponse } from '../../shared/httpErrors.js';
import type { ApiRoute } from '../routeTable.js';

export async function serviceEndpoints(event: APIGatewayProxyEventV2) {
  const { services, workers } = getDeps();
  const name = event.pathParameters?.name ?? '';
  const { record, slots } = await services.load(name);
  if (!record) throw new NotFoundError('service', name);
  const [views, fleet] = await Promise.all([services.withTasks(slots), workers.list()]);
  const tasks = views.flatMap((s) => (s.task ? [s.task] : []));
  // Healthy as the rollout counts it: RUNNING, passing its check, for minHealthyTime.
  const now = Date.now();
  const healthy = (task: TaskRecord) => isHealthy(task, record.update.minHealthyTime, now);
  return jsonResponse(200, { service: name, ports: endpointsOf(tasks, fleet, healthy) });
}

export const serviceEndpointRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/v1/services/{name}/endpoints',
    operationId: 'listServiceEndpoints',
    summary:
      "Where the service's healthy replicas answer: address:hostPort per container port, from what the engines bound",
    scopes: ['submit', 'read'],
    params: z.strictObject({ name: serviceName }),
    responses: {
      200: '{ service, ports: [{ container, protocol, endpoints: [{ address, taskId, workerId }] }] }',
    },
    errors: [404],
    handler: serviceEndpoints,
  },
];
