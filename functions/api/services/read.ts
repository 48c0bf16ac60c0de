// GET /v1/services, /v1/services/{name}, /v1/services/{name}/revisions.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { NotFoundError } from '../../../core/errors.js';
import { getDeps } from '../../shared/deps.js';
import { jsonResponse } from '../../shared/httpErrors.js';
import { serviceSummary, serviceView } from './view.js';

const RECENT_EVENTS = 20;

export async function listServices() {
  const { services } = getDeps();
  const records = await services.list();
  const summaries = await Promise.all(
    records.map(async (record) => {
      const { slots } = await services.load(record.name);
      return serviceSummary(record, await services.withTasks(slots));
    }),
  );
  return jsonResponse(200, { services: summaries });
}

export async function getService(event: APIGatewayProxyEventV2) {
  const { services } = getDeps();
  const name = event.pathParameters?.name ?? '';
  const { record, slots } = await services.load(name);
  if (!record) throw new NotFoundError('service', name);
  const [views, events] = await Promise.all([
    services.withTasks(slots),
    services.events(name, RECENT_EVENTS),
  ]);
  return jsonResponse(200, { service: serviceView(record, views), events });
}

export async function listRevisions(event: APIGatewayProxyEventV2) {
  const { services } = getDeps();
  const name = event.pathParameters?.name ?? '';
  const record = await services.get(name);
  if (!record) throw new NotFoundError('service', name);
  const revisions = await services.revisions(name);
  return jsonResponse(200, {
    revisions: revisions.map((r) => ({
      revision: r.revision,
      createdAt: r.createdAt,
      current: r.revision === record.revision,
      stable: r.revision === record.stableRevision,
      task: r.task,
    })),
  });
}
