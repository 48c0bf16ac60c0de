// Gives items of an older shape the attributes the history indexes and the TTL need
// (core/history/backfill.ts), a bounded step at a time: each call reads one Scan page of at
// most `pageItems` items per table not yet done, writes what those lack, and goes on from there
// next call. Every write is conditional (a task on the version it was read at, an event and a
// token on still lacking what it adds), so steps run twice, late or beside writers change
// nothing twice. When a pass over a table ends and no older daemon is live, a marker item (in
// the events table, under a key no task has, outside the timeline) says the table is done:
// later steps, in this process or after a cold start, cost one read per table, then none.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type BackfillPatch,
  eventBackfill,
  taskBackfill,
  tokenBackfill,
} from '../core/history/backfill.js';
import { TTL_ATTRIBUTE } from '../core/history/retention.js';
import type { ControlPlaneConfig } from './config.js';

export const BACKFILL_TABLES = ['tasks', 'events', 'tokens'] as const;
export type BackfillTable = (typeof BACKFILL_TABLES)[number];

/** The marker's partition in the events table: no task id starts with `cube:`. */
export const BACKFILL_MARKER_KEY = 'cube:backfill';
/** Items read per table per step: a few hundred reads and at most as many writes. */
export const BACKFILL_PAGE_ITEMS = 250;
const WRITE_CONCURRENCY = 8;

export interface BackfillStep {
  /** Items scanned and items given what they lacked, this step. */
  scanned: number;
  patched: number;
  /** Tables whose pass ended this step and that are now marked done. */
  finished: BackfillTable[];
}

interface TableSpec {
  name: (config: ControlPlaneConfig) => string;
  /** Only the items that may lack something (Scan still reads, and counts, every item). */
  filter: string;
  names: Record<string, string>;
  values?: Record<string, unknown>;
  patch: (item: Record<string, unknown>, retentionMs: number) => BackfillPatch | undefined;
  key: (item: Record<string, unknown>) => Record<string, unknown>;
  /** The write's condition: it still is what was read. */
  condition: (item: Record<string, unknown>) => {
    expression: string;
    names: Record<string, string>;
    values: Record<string, unknown>;
  };
}

const ENDED = [':completed', ':failed', ':stopped', ':lost'];

const SPECS: Record<BackfillTable, TableSpec> = {
  tasks: {
    name: (c) => c.tasksTable,
    filter: `attribute_not_exists(idPrefix) OR (attribute_not_exists(#ttl) AND #state IN (${ENDED.join(', ')}))`,
    names: { '#ttl': TTL_ATTRIBUTE, '#state': 'state' },
    values: {
      ':completed': 'COMPLETED',
      ':failed': 'FAILED',
      ':stopped': 'STOPPED',
      ':lost': 'LOST',
    },
    patch: taskBackfill,
    key: (item) => ({ id: item.id }),
    condition: (item) => ({
      expression: '#version = :version',
      names: { '#version': 'version' },
      values: { ':version': item.version },
    }),
  },
  events: {
    name: (c) => c.eventsTable,
    filter: 'attribute_not_exists(#bucket) AND attribute_exists(#at)',
    names: { '#bucket': 'bucket', '#at': 'at' },
    patch: eventBackfill,
    key: (item) => ({ taskId: item.taskId, seq: item.seq }),
    condition: () => ({
      expression: 'attribute_exists(#at) AND attribute_not_exists(#bucket)',
      names: { '#at': 'at', '#bucket': 'bucket' },
      values: {},
    }),
  },
  tokens: {
    name: (c) => c.tokensTable,
    filter: 'attribute_not_exists(#ttl) AND (#revoked = :true OR attribute_exists(#expiresAt))',
    names: { '#ttl': TTL_ATTRIBUTE, '#revoked': 'revoked', '#expiresAt': 'expiresAt' },
    values: { ':true': true },
    patch: tokenBackfill,
    key: (item) => ({ hash: item.hash }),
    condition: () => ({
      expression: 'attribute_exists(#hash) AND attribute_not_exists(#ttl)',
      names: { '#hash': 'hash', '#ttl': TTL_ATTRIBUTE },
      values: {},
    }),
  },
};

export class Backfill {
  /** Where each table's pass is (the next Scan page), or 'done'. */
  private readonly position = new Map<BackfillTable, Record<string, unknown> | 'start' | 'done'>();

  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly config: ControlPlaneConfig,
    private readonly pageItems = BACKFILL_PAGE_ITEMS,
  ) {}

  /** Whether every table is known to be done (no request is made any more). */
  get done(): boolean {
    return BACKFILL_TABLES.every((t) => this.position.get(t) === 'done');
  }

  /**
   * One page of each table not yet done. `olderDaemons`: a live daemon of an older Cube may
   * still write old items, so a pass that ends now starts over instead of being marked done.
   */
  async step(olderDaemons: boolean): Promise<BackfillStep> {
    const step: BackfillStep = { scanned: 0, patched: 0, finished: [] };
    for (const table of BACKFILL_TABLES) {
      let position = this.position.get(table);
      if (position === undefined) {
        position = (await this.markedDone(table)) ? 'done' : 'start';
        this.position.set(table, position);
      }
      if (position === 'done') continue;
      const spec = SPECS[table];
      const page = await this.ddb.send(
        new ScanCommand({
          TableName: spec.name(this.config),
          Limit: this.pageItems,
          FilterExpression: spec.filter,
          ExpressionAttributeNames: spec.names,
          ...(spec.values ? { ExpressionAttributeValues: spec.values } : {}),
          ...(position === 'start' ? {} : { ExclusiveStartKey: position }),
        }),
      );
      step.scanned += page.ScannedCount ?? 0;
      const items = page.Items ?? [];
      let next = 0;
      const lane = async () => {
        while (next < items.length) {
          if (await this.patch(spec, items[next++]!)) step.patched++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, items.length) }, lane));
      if (page.LastEvaluatedKey) {
        this.position.set(table, page.LastEvaluatedKey);
      } else if (olderDaemons) {
        this.position.set(table, 'start');
      } else {
        await this.markDone(table);
        this.position.set(table, 'done');
        step.finished.push(table);
      }
    }
    return step;
  }

  /** Writes what one item lacks; false when it lacks nothing or changed since it was read. */
  private async patch(spec: TableSpec, item: Record<string, unknown>): Promise<boolean> {
    const patch = spec.patch(item, this.config.retainFinishedMs);
    if (!patch) return false;
    const condition = spec.condition(item);
    const names: Record<string, string> = { ...condition.names };
    const values: Record<string, unknown> = { ...condition.values };
    const sets = Object.entries(patch).map(([attribute, value], i) => {
      names[`#p${i}`] = attribute;
      values[`:p${i}`] = value;
      return `#p${i} = :p${i}`;
    });
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: spec.name(this.config),
          Key: spec.key(item),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition.expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      // Written since it was read: its writer gave it the current shape, or the next pass will.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private markerKey(table: BackfillTable) {
    return { taskId: BACKFILL_MARKER_KEY, seq: BACKFILL_TABLES.indexOf(table) };
  }

  private async markedDone(table: BackfillTable): Promise<boolean> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.config.eventsTable, Key: this.markerKey(table) }),
    );
    return out.Item !== undefined;
  }

  private async markDone(table: BackfillTable): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.config.eventsTable,
        Item: { ...this.markerKey(table), table, doneAt: new Date().toISOString() },
      }),
    );
  }
}
