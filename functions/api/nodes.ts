// /v1/nodes/{id}/cordon, /uncordon, /drain and DELETE /v1/nodes/{id} (admin only). `{id}` is
// a worker id or name. Each change is also written to the cluster's timeline.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { WorkerRecord } from '../../core/types.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { HttpError, jsonResponse } from '../shared/httpErrors.js';
import { noteWorkerEvent, removeDownWorker } from '../shared/workerLifecycle.js';
import { drainWorker } from './drainWorker.js';

async function findWorker(event: APIGatewayProxyEventV2): Promise<WorkerRecord> {
  const key = decodeURIComponent(event.pathParameters?.id ?? '');
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(key)) {
    throw new ValidationError('id', 'must be a worker id or name');
  }
  const { workers } = getDeps();
  const byId = await workers.get(key);
  if (byId) return byId;
  const byName = (await workers.list()).filter((w) => w.name === key);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new ValidationError('id', `${byName.length} workers are named ${key}; give the id`);
  }
  throw new NotFoundError('worker', key);
}

export async function cordonNode(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, []);
  const worker = await findWorker(event);
  const node = await getDeps().workers.setCordoned(worker.id, true);
  if (!worker.cordoned) {
    await noteWorkerEvent(getDeps(), worker, 'cordon', `api:${principal.name}`);
  }
  return jsonResponse(200, { node });
}

export async function uncordonNode(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, []);
  const worker = await findWorker(event);
  const node = await getDeps().workers.setCordoned(worker.id, false);
  if (worker.cordoned) {
    await noteWorkerEvent(getDeps(), worker, 'uncordon', `api:${principal.name}`);
  }
  // Tasks left pending for want of room may fit now: the reconciler nudges PENDING tasks.
  return jsonResponse(200, { node });
}

export async function drainNode(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, []);
  const worker = await findWorker(event);
  const by = `api:${principal.name}`;
  const report = await drainWorker(getDeps(), worker.id, by);
  await noteWorkerEvent(
    getDeps(),
    worker,
    'drain',
    by,
    `worker ${worker.name} cordoned and draining: ${report.stopping.length} task(s) moving`,
  );
  return jsonResponse(202, {
    node: report.worker,
    stopping: report.stopping,
    skipped: report.skipped,
  });
}

/** `cube node rm`: a DOWN worker's record and queue go now, not after the retention. */
export async function removeNode(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, []);
  const worker = await findWorker(event);
  const outcome = await removeDownWorker(
    getDeps(),
    worker,
    `api:${principal.name}`,
    `worker ${worker.name} removed by ${principal.name}`,
  );
  switch (outcome) {
    case 'removed':
      return jsonResponse(200, { node: worker });
    case 'live':
      throw new HttpError(
        409,
        'WORKER_LIVE',
        `id: worker ${worker.name} (${worker.id}) is ${worker.state}, last heartbeat ` +
          `${worker.heartbeatAt}; only a DOWN worker can be removed: stop its daemon ` +
          `('cube node drain' first moves its tasks) and wait until 'cube nodes' shows it DOWN`,
      );
    case 'holds-tasks':
      throw new HttpError(
        409,
        'WORKER_HOLDS_TASKS',
        `id: worker ${worker.name} (${worker.id}) still holds ${worker.allocated.tasks} ` +
          `task(s); the reconciler is moving them elsewhere: try again in a few seconds`,
      );
    default:
      throw new HttpError(
        409,
        'CONFLICT',
        `id: worker ${worker.name} (${worker.id}) changed meanwhile (registered again?); see 'cube nodes'`,
      );
  }
}
