// /v1/nodes/{id}/cordon, /uncordon and /drain (admin only). `{id}` is a worker id or name.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { WorkerRecord } from '../../core/types.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';
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
  requireScope(context, []);
  const worker = await findWorker(event);
  return jsonResponse(200, { node: await getDeps().workers.setCordoned(worker.id, true) });
}

export async function uncordonNode(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, []);
  const worker = await findWorker(event);
  const node = await getDeps().workers.setCordoned(worker.id, false);
  // Tasks left pending for want of room may fit now: the reconciler nudges PENDING tasks.
  return jsonResponse(200, { node });
}

export async function drainNode(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, []);
  const worker = await findWorker(event);
  const report = await drainWorker(getDeps(), worker.id, `api:${principal.name}`);
  return jsonResponse(202, {
    node: report.worker,
    stopping: report.stopping,
    skipped: report.skipped,
  });
}
