// GET /v1/tasks/{id}/logs: one attempt's output from the control plane's log group, a page at
// a time; GET /v1/services/{name}/logs: the current replicas' output interleaved by time, each
// line tagged with its replica. Wiring only: names and rules live in core/logs/.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { LogStore, type StoredLogEvent } from '../../aws/logStore.js';
import { logsClient } from '../../aws/logsClient.js';
import { NotFoundError } from '../../core/errors.js';
import { attemptEnded, taskOver } from '../../core/logs/logFollow.js';
import { logStreamName, parseSince, SINCE } from '../../core/logs/logNames.js';
import { fromAnswer, wholeText } from '../../core/schemaRules.js';
import { serviceName } from '../../core/services/spec.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';

export const MAX_TAIL = 10_000;

export const TaskLogsQuery = z.strictObject({
  attempt: wholeText(1, 1_000_000)
    .meta({ description: "The attempt's output (default: the task's current attempt)" })
    .optional(),
  since: z
    .string()
    .max(64)
    .regex(
      SINCE,
      'must be a duration back from now like 10m or 1h30m, a time like 2026-01-01T00:00:00Z, or epoch milliseconds',
    )
    .meta({ description: 'Only lines from then on' })
    .optional(),
  tail: wholeText(1, MAX_TAIL).meta({ description: 'Only the last N lines' }).optional(),
  nextToken: fromAnswer(
    z.string().min(1).max(2048),
    'nextToken',
    "The previous page's nextToken: the lines after it",
  ).optional(),
  limit: wholeText(1, MAX_TAIL).meta({ description: 'Lines per page (default 1000)' }).optional(),
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
  // An attempt that has not happened (yet) is a thing that does not exist, not a bad request.
  if (attempt > task.attempt) {
    throw new NotFoundError('attempt', `${attempt} of task ${id} (its latest is ${task.attempt})`);
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

export const ServiceLogsQuery = TaskLogsQuery.omit({ attempt: true });
export const ServiceLogsParams = z.strictObject({ name: serviceName });

/** FilterLogEvents reads at most 100 streams at once. */
const MAX_REPLICA_STREAMS = 100;

export async function getServiceLogs(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const name = event.pathParameters?.name ?? '';
  const query = ServiceLogsQuery.parse(event.queryStringParameters ?? {});
  const { services } = getDeps();
  const { record, slots } = await services.load(name);
  if (!record) throw new NotFoundError('service', name);
  // The current replica of each slot, its current attempt.
  const replicas = (await services.withTasks(slots))
    .flatMap((slot) => (slot.task ? [slot.task] : []))
    .slice(0, MAX_REPLICA_STREAMS)
    .map((task) => ({
      stream: logStreamName(task.id, task.attempt),
      replica: task.spec.name,
      taskId: task.id,
      attempt: task.attempt,
    }));
  const byStream = new Map(replicas.map((r) => [r.stream, r]));
  const startTime = query.since ? parseSince(query.since)! : undefined;
  let events: StoredLogEvent[];
  let nextToken: string | undefined;
  if (query.tail && !query.nextToken) {
    // The last N of all: each replica's last N, merged by time.
    const tail = Number(query.tail);
    const pages = await Promise.all(
      replicas.map((r) =>
        logStore().read(r.stream, { tail, ...(startTime !== undefined ? { startTime } : {}) }),
      ),
    );
    events = pages
      .flatMap((page, i) => page.events.map((e) => ({ ...e, stream: replicas[i]!.stream })))
      .sort((a, b) => a.timestamp - b.timestamp)
      .slice(-tail);
  } else {
    const page = await logStore().readMany(
      replicas.map((r) => r.stream),
      {
        ...(startTime !== undefined ? { startTime } : {}),
        ...(query.nextToken ? { nextToken: query.nextToken } : {}),
        ...(query.limit ? { limit: Number(query.limit) } : {}),
      },
    );
    events = page.events;
    nextToken = page.nextToken;
  }
  return jsonResponse(200, {
    service: name,
    replicas: replicas.map(({ replica, taskId, attempt }) => ({ replica, taskId, attempt })),
    lines: events.map((e) => {
      const replica = byStream.get(e.stream ?? '');
      return {
        ...line(e),
        replica: replica?.replica ?? e.stream ?? '',
        taskId: replica?.taskId ?? '',
        ...(e.id ? { id: e.id } : {}),
      };
    }),
    ...(nextToken ? { nextToken } : {}),
  });
}
