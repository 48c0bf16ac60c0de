// The cluster's timeline (core/history/events.ts): events that are not task transitions are
// written here; every event is read back by the hour partition of the timeline index.
import { randomInt } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  bucketsBetween,
  type ClusterEvent,
  eventSubject,
  type NewClusterEvent,
  timeBucket,
  toClusterEvent,
} from '../core/history/events.js';
import {
  DEFAULT_RETAIN_FINISHED_MS,
  purgeAtAfter,
  TTL_ATTRIBUTE,
} from '../core/history/retention.js';
import type { ControlPlaneConfig } from './config.js';
import { decodeToken, encodeToken, foreignToken, KeyText, keyOf, notPurged } from './paging.js';

/** GSI on (bucket, at): the events of one hour in time order. */
export const EVENTS_BY_TIME_INDEX = 'byTime';

/** Hour partitions one page reads at most; a longer window continues with the nextToken. */
const MAX_BUCKETS_PER_PAGE = 48;
/** Writers' clocks may run ahead of the reader's: look this far past now. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface TimelineQuery {
  since: Date;
  kind?: string;
  taskId?: string;
  service?: string;
  workerId?: string;
  limit: number;
  nextToken?: string;
  now?: Date;
}

export interface TimelinePage {
  events: ClusterEvent[];
  nextToken?: string;
}

// A start key: the timeline index's (bucket, at) with the table's (taskId, seq), or the
// table's alone for one task's events. The partition parts must be the ones a Query reads.
const Token = z.strictObject({
  b: z.string().max(16).optional(),
  k: z
    .strictObject({
      bucket: KeyText.optional(),
      at: KeyText.optional(),
      taskId: KeyText,
      seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    })
    .optional(),
});
type Position = z.infer<typeof Token>;

export class EventStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly config: Pick<ControlPlaneConfig, 'eventsTable'> & {
      retainFinishedMs?: number;
    },
  ) {}

  /** Writes an event that is not a task transition (a worker's, a service's, a placement's). */
  async record(event: NewClusterEvent): Promise<void> {
    const at = event.at ?? new Date().toISOString();
    const { taskId, ...rest } = event;
    await this.ddb.send(
      new PutCommand({
        TableName: this.config.eventsTable,
        Item: {
          ...rest,
          taskId: eventSubject(event),
          // Time-ordered and unique enough: microseconds of a millisecond clock plus noise.
          seq: Date.parse(at) * 1000 + randomInt(1000),
          ...(taskId ? { task: taskId } : {}),
          at,
          bucket: timeBucket(at),
          [TTL_ATTRIBUTE]: purgeAtAfter(
            at,
            this.config.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS,
          ),
        },
      }),
    );
  }

  /** Events at or after `since`, oldest first, one page. */
  async timeline(query: TimelineQuery): Promise<TimelinePage> {
    const now = query.now ?? new Date();
    const position = query.nextToken ? decodeToken(query.nextToken, Token) : {};
    const filter = this.filter(query, now);
    if (query.taskId) return this.taskTimeline(query, position, filter);
    const buckets = bucketsBetween(query.since, new Date(now.getTime() + CLOCK_SKEW_MS));
    let index = position.b ? buckets.indexOf(position.b) : 0;
    if (index < 0) index = buckets.length;
    let start: Record<string, unknown> | undefined =
      index < buckets.length ? bucketStart(position.k, buckets[index]!, query.since) : undefined;
    const events: ClusterEvent[] = [];
    for (let read = 0; index < buckets.length; read++) {
      if (read >= MAX_BUCKETS_PER_PAGE)
        return { events, nextToken: encodeToken({ b: buckets[index] }) };
      const bucket = buckets[index]!;
      const out = await this.ddb.send(
        new QueryCommand({
          TableName: this.config.eventsTable,
          IndexName: EVENTS_BY_TIME_INDEX,
          KeyConditionExpression: '#bucket = :bucket AND #at >= :since',
          FilterExpression: filter.expression,
          ExpressionAttributeNames: { ...filter.names, '#bucket': 'bucket', '#at': 'at' },
          ExpressionAttributeValues: {
            ...filter.values,
            ':bucket': bucket,
            ':since': query.since.toISOString(),
          },
          Limit: query.limit - events.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) events.push(toClusterEvent(item));
      if (events.length >= query.limit) {
        const last = out.Items![out.Items!.length - 1]!;
        const k = keyOf(last, ['bucket', 'at', 'taskId', 'seq']);
        return { events, nextToken: encodeToken({ b: bucket, k }) };
      }
      start = out.LastEvaluatedKey;
      if (!start) index++;
    }
    return { events };
  }

  /** One task's events (its own partition: no index needed). */
  private async taskTimeline(
    query: TimelineQuery,
    position: Position,
    filter: ReturnType<EventStore['filter']>,
  ): Promise<TimelinePage> {
    const events: ClusterEvent[] = [];
    if (position.k && (position.k.taskId !== query.taskId || position.k.bucket !== undefined)) {
      throw foreignToken();
    }
    let start: Record<string, unknown> | undefined = position.k;
    do {
      const out = await this.ddb.send(
        new QueryCommand({
          TableName: this.config.eventsTable,
          KeyConditionExpression: 'taskId = :task',
          FilterExpression: `${filter.expression} AND #at >= :since`,
          ExpressionAttributeNames: { ...filter.names, '#at': 'at' },
          ExpressionAttributeValues: {
            ...filter.values,
            ':task': query.taskId,
            ':since': query.since.toISOString(),
          },
          Limit: query.limit - events.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) events.push(toClusterEvent(item));
      start = out.LastEvaluatedKey;
      if (events.length >= query.limit && start) {
        return { events, nextToken: encodeToken({ k: start }) };
      }
    } while (start);
    return { events };
  }

  private filter(query: TimelineQuery, now: Date) {
    const base = notPurged(now);
    const parts = [base.expression];
    const names: Record<string, string> = { ...base.names };
    const values: Record<string, unknown> = { ...base.values };
    const equal = (attribute: string, value: string | undefined) => {
      if (value === undefined) return;
      parts.push(`#f_${attribute} = :f_${attribute}`);
      names[`#f_${attribute}`] = attribute;
      values[`:f_${attribute}`] = value;
    };
    if (query.kind === 'task') {
      // Transitions written before events had kinds have none.
      parts.push('(attribute_not_exists(#f_kind) OR #f_kind = :f_kind)');
      names['#f_kind'] = 'kind';
      values[':f_kind'] = 'task';
    } else if (query.kind === 'service') {
      // A service controller's events carry their own kinds; their subject says whose they are.
      parts.push('begins_with(#f_subject, :f_subject)');
      names['#f_subject'] = 'taskId';
      values[':f_subject'] = 'service:';
    } else {
      equal('kind', query.kind);
    }
    equal('service', query.service);
    equal('workerId', query.workerId);
    return { expression: parts.join(' AND '), names, values };
  }
}

/**
 * A token's start key in `bucket`, the one it names. A `since` given as a duration moves on
 * between pages: a key from before it starts the bucket over at `since` (a Query's start key
 * must lie within its key condition).
 */
function bucketStart(
  k: Position['k'],
  bucket: string,
  since: Date,
): Record<string, unknown> | undefined {
  if (!k) return undefined;
  if (k.bucket !== bucket || k.at === undefined) throw foreignToken();
  return k.at >= since.toISOString() ? k : undefined;
}
