// Task listings in pages and id-prefix lookups, by Query on the tasks table's indexes: the
// cost of a page is its own size, never the table's. Items past their TTL are left out.
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import type { TaskRecord, TaskState } from '../core/types.js';
import type { ControlPlaneConfig } from './config.js';
import { fromTaskItem, ID_PREFIX_LENGTH, idPrefixOf } from './historyItems.js';
import { decodeToken, encodeToken, foreignToken, KeyText, keyOf, notPurged } from './paging.js';
import { TASKS_BY_PREFIX_INDEX, TASKS_BY_STATE_INDEX } from './taskStore.js';

/** States in the order a full listing walks them: what is live first, then what ended. */
export const LISTING_ORDER: readonly TaskState[] = [
  'PENDING',
  'SCHEDULED',
  'STARTING',
  'RUNNING',
  'STOPPING',
  'COMPLETED',
  'FAILED',
  'STOPPED',
  'LOST',
];

/** A page stops growing past this many bytes of JSON (Lambda answers at most 6 MB). */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export interface TaskPage {
  tasks: TaskRecord[];
  nextToken?: string;
}

// The start key is the last task's (index and table keys); its state is the walked state's,
// checked, so a token never makes a start key outside the partition a Query reads.
const Token = z.strictObject({
  s: z.number().int().min(0).max(16),
  k: z.strictObject({ id: KeyText, state: KeyText, createdAt: KeyText }).optional(),
});

type Tables = Pick<ControlPlaneConfig, 'tasksTable'>;

/**
 * One page of the tasks in `states` (default: all), newest first within each state, the
 * states in LISTING_ORDER. The next page starts right after the last task of this one.
 */
export async function listTaskPage(
  ddb: DynamoDBDocumentClient,
  config: Tables,
  options: { states?: readonly TaskState[]; limit: number; nextToken?: string; now?: Date },
): Promise<TaskPage> {
  const states = options.states
    ? LISTING_ORDER.filter((s) => options.states!.includes(s))
    : LISTING_ORDER;
  const position = options.nextToken ? decodeToken(options.nextToken, Token) : { s: 0 };
  if (position.k && position.k.state !== states[position.s]) {
    throw foreignToken();
  }
  const filter = notPurged(options.now);
  const tasks: TaskRecord[] = [];
  let bytes = 0;
  let start: Record<string, unknown> | undefined = position.k;
  for (let s = position.s; s < states.length; ) {
    const out = await ddb.send(
      new QueryCommand({
        TableName: config.tasksTable,
        IndexName: TASKS_BY_STATE_INDEX,
        KeyConditionExpression: '#state = :state',
        FilterExpression: filter.expression,
        ExpressionAttributeNames: { ...filter.names, '#state': 'state' },
        ExpressionAttributeValues: { ...filter.values, ':state': states[s] },
        ScanIndexForward: false,
        Limit: options.limit - tasks.length,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      tasks.push(fromTaskItem<TaskRecord>(item));
      bytes += JSON.stringify(item).length;
      if (tasks.length >= options.limit || bytes >= MAX_PAGE_BYTES) {
        const k = keyOf(item, ['id', 'state', 'createdAt']);
        return { tasks, nextToken: encodeToken({ s, k }) };
      }
    }
    start = out.LastEvaluatedKey;
    if (!start) s++;
  }
  return { tasks };
}

/**
 * The tasks whose id starts with `prefix` (at most `limit`), by Query on the prefix index:
 * its partition is the id's first characters, so a prefix needs at least that many.
 */
export async function findTasksByPrefix(
  ddb: DynamoDBDocumentClient,
  config: Tables,
  prefix: string,
  limit: number,
  now = new Date(),
): Promise<TaskRecord[]> {
  if (prefix.length < ID_PREFIX_LENGTH) {
    throw new ValidationError(
      'prefix',
      `must be at least ${ID_PREFIX_LENGTH} characters of a task id`,
    );
  }
  const filter = notPurged(now);
  const ids: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({
        TableName: config.tasksTable,
        IndexName: TASKS_BY_PREFIX_INDEX,
        KeyConditionExpression: 'idPrefix = :bucket AND begins_with(id, :prefix)',
        FilterExpression: filter.expression,
        ExpressionAttributeNames: filter.names,
        ExpressionAttributeValues: {
          ...filter.values,
          ':bucket': idPrefixOf(prefix),
          ':prefix': prefix,
        },
        Limit: limit - ids.length,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) ids.push(item.id as string);
    start = out.LastEvaluatedKey;
  } while (start && ids.length < limit);
  const tasks: TaskRecord[] = [];
  for (const id of ids) {
    const out = await ddb.send(new GetCommand({ TableName: config.tasksTable, Key: { id } }));
    if (out.Item) tasks.push(fromTaskItem<TaskRecord>(out.Item));
  }
  return tasks;
}
