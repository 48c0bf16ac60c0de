// GET /v1/tasks/{id}/logs: one attempt's output from the control plane's log group, a page at
// a time. Wiring only: names and rules live in core/logs/.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { LogStore, type StoredLogEvent } from '../../aws/logStore.js';
import { logsClient } from '../../aws/logsClient.js';
import { ValidationError } from '../../core/errors.js';
import { attemptEnded, taskOver } from '../../core/logs/logFollow.js';
import { logStreamName, parseSince } from '../../core/logs/logNames.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';

export const MAX_TAIL = 10_000;

const whole = (max: number) =>
  z
    .string()
    .regex(/^[1-9]\d{0,8}$/, `must be a whole number from 1 to ${max}`)
    .refine((text) => Number(text) <= max, `must be a whole number from 1 to ${max}`);

export const TaskLogsQuery = z.strictObject({
  attempt: whole(1_000_000)
    .meta({ description: "The attempt's output (default: the task's current attempt)" })
    .optional(),
  since: z
    .string()
    .max(64)
    .refine(
      (text) => parseSince(text) !== undefined,
      'must be a duration back from now like 10m or 1h30m, or a time like 2026-01-01T00:00:00Z',
    )
    .meta({ description: 'Only lines from then on' })
    .optional(),
  tail: whole(MAX_TAIL).meta({ description: 'Only the last N lines' }).optional(),
  nextToken: z
    .string()
    .min(1)
    .max(2048)
    .meta({ description: "The previous page's nextToken: the lines after it" })
    .optional(),
  limit: whole(MAX_TAIL).meta({ description: 'Lines per page (default 1000)' }).optional(),
});

let store: LogStore | undefined;
const logStore = () => {
  store ??= new LogStore(logsClient(), getDeps().config.logGroup);
  return store;
};

const line = (event: StoredLogEvent) => ({
  time: new Date(event.timestamp).toISOString(),
  message: event.message,
});

export async function getTaskLogs(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const id = event.pathParameters?.id ?? '';
  const query = TaskLogsQuery.parse(event.queryStringParameters ?? {});
  // The record first: an ended attempt's output is all shipped before its end is written.
  const task = await getDeps().tasks.require(id);
  const attempt = query.attempt ? Number(query.attempt) : task.attempt;
  if (attempt > task.attempt) {
    throw new ValidationError('attempt', `must be at most ${task.attempt}, the task's latest`);
  }
  const page = await logStore().read(logStreamName(id, attempt), {
    ...(query.since ? { startTime: parseSince(query.since)! } : {}),
    ...(query.tail ? { tail: Number(query.tail) } : {}),
    ...(query.nextToken ? { nextToken: query.nextToken } : {}),
    ...(query.limit ? { limit: Number(query.limit) } : {}),
  });
  return jsonResponse(200, {
    taskId: id,
    attempt,
    state: task.state,
    latestAttempt: task.attempt,
    // This attempt prints no more; with an empty page, the reader has it all.
    ended: attemptEnded(task, attempt),
    // Nothing more will run (no new attempt is coming).
    over: taskOver(task),
    lines: page.events.map(line),
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
  });
}
