// GET /v1/events: the cluster's timeline (task transitions, workers up/down/cordon/drain,
// failed placements, service rollouts), oldest first from `since`, a page at a time.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { parseSince, SINCE } from '../../core/history/duration.js';
import { EVENT_KINDS } from '../../core/history/events.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';
import { PageQuery, pageLimit } from './pageQuery.js';

/** Without `since`: the last hour. */
export const DEFAULT_EVENTS_WINDOW_MS = 3_600_000;

const name = (what: string) =>
  z
    .string()
    .regex(/^[a-zA-Z0-9_.:-]{1,128}$/, `must be a ${what} (letters, digits, _ . : -)`)
    .optional();

export const EventListQuery = z.strictObject({
  since: z
    .string()
    .max(64)
    .regex(SINCE, 'must be an ISO time or a duration such as 10m or 2h')
    .optional()
    .describe('An ISO time, or a duration back from now such as 10m, 6h, 2d (default 1h)'),
  kind: z.enum(EVENT_KINDS).optional(),
  task: name('task id'),
  service: name('service name'),
  worker: name('worker id'),
  ...PageQuery.shape,
});

export async function listEvents(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const query = EventListQuery.parse(event.queryStringParameters ?? {});
  const now = new Date();
  const since =
    query.since === undefined
      ? new Date(now.getTime() - DEFAULT_EVENTS_WINDOW_MS)
      : parseSince(query.since, now);
  if (!since) {
    throw new ValidationError('since', 'must be an ISO time or a duration such as 10m or 2h');
  }
  const { events, config } = getDeps();
  // Nothing older than the retention is kept: a longer window reads no more.
  const oldest = new Date(now.getTime() - config.retainFinishedMs);
  const page = await events.timeline({
    since: since < oldest ? oldest : since,
    ...(query.kind ? { kind: query.kind } : {}),
    ...(query.task ? { taskId: query.task } : {}),
    ...(query.service ? { service: query.service } : {}),
    ...(query.worker ? { workerId: query.worker } : {}),
    limit: pageLimit(query.limit),
    ...(query.nextToken ? { nextToken: query.nextToken } : {}),
    now,
  });
  return jsonResponse(200, page);
}
