// Services in DynamoDB: one partition per service holding its record (`service`), its
// revisions (`rev#0000000003`, the last 10 kept) and its replica slots (`slot#0003`, with the
// earlier occupants still stopping listed as `draining`). Every
// write of the record is conditional on its version; a replica is created in one transaction
// with its slot's move to the next generation (conditional on the one the controller saw) and
// a check that the spec did not change meanwhile, so two controllers never fill one slot.
// Service events go to the events table under `service:<name>`, beside the tasks' timelines.

import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CapacityExhaustedError, ConflictError } from '../core/errors.js';
import { DEFAULT_RETAIN_FINISHED_MS } from '../core/history/retention.js';
import type {
  RevisionRecord,
  ServiceEvent,
  ServiceRecord,
  SlotRecord,
  SlotView,
} from '../core/services/types.js';
import type { Transition } from '../core/taskStateMachine.js';
import type { TaskEvent, TaskRecord } from '../core/types.js';
import type { ControlPlaneConfig } from './config.js';
import { taskItem, timelineFields, transitionEventItem } from './historyItems.js';
import { capacityUpdate } from './workerStore.js';

const RECORD_KEY = 'service';
const revisionKey = (revision: number) => `rev#${String(revision).padStart(10, '0')}`;
const slotKey = (slot: number) => `slot#${String(slot).padStart(4, '0')}`;
/** The events table's partition for a service's events. */
export const serviceEventsKey = (name: string) => `service:${name}`;

type Items = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { service: _s, key: _k, ...rest } = item;
  return rest as T;
}

export class ServiceStore {
  /** The last event key written, so two events of one process never share one. */
  private lastEventSeq = 0;

  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly config: Pick<
      ControlPlaneConfig,
      'servicesTable' | 'tasksTable' | 'eventsTable' | 'workersTable'
    > & { retainFinishedMs?: number },
  ) {}

  /** Replicas and events expire like any (CUBE_RETAIN_FINISHED; aws/historyItems.ts). */
  private get retention(): number {
    return this.config.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS;
  }

  async get(name: string): Promise<ServiceRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({
        TableName: this.config.servicesTable,
        Key: { service: name, key: RECORD_KEY },
        ConsistentRead: true,
      }),
    );
    return out.Item ? ({ ...strip<ServiceRecord>(out.Item), name } as ServiceRecord) : undefined;
  }

  /** The record and its slots (one query: `service` sorts before `slot#...`). */
  async load(name: string): Promise<{ record?: ServiceRecord; slots: SlotRecord[] }> {
    const items = await this.query(name, '#key >= :from', { ':from': RECORD_KEY });
    let record: ServiceRecord | undefined;
    const slots: SlotRecord[] = [];
    for (const item of items) {
      if (item.key === RECORD_KEY) record = { ...strip<ServiceRecord>(item)!, name };
      else if (String(item.key).startsWith('slot#')) slots.push(strip<SlotRecord>(item)!);
    }
    return { ...(record ? { record } : {}), slots };
  }

  /** The slots with their replicas' task records, draining ones too (one batch read). */
  async withTasks(slots: readonly SlotRecord[]): Promise<SlotView[]> {
    const tasks = new Map<string, TaskRecord>();
    const ids = [...new Set(slots.flatMap((s) => [s.taskId, ...(s.draining ?? [])]))];
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = ids.slice(i, i + 100).map((id) => ({ id }));
      for (let tries = 0; keys && keys.length > 0 && tries < 10; tries++) {
        const out = await this.ddb.send(
          new BatchGetCommand({
            RequestItems: { [this.config.tasksTable]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of out.Responses?.[this.config.tasksTable] ?? []) {
          tasks.set(item.id as string, item as TaskRecord);
        }
        keys = out.UnprocessedKeys?.[this.config.tasksTable]?.Keys as typeof keys;
        if (keys?.length) await new Promise((r) => setTimeout(r, 50 * (tries + 1)));
      }
    }
    return slots.map((s) => {
      const task = tasks.get(s.taskId);
      const drainingTasks = (s.draining ?? []).flatMap((id) => tasks.get(id) ?? []);
      return {
        ...s,
        ...(task ? { task } : {}),
        ...(drainingTasks.length > 0 ? { drainingTasks } : {}),
      };
    });
  }

  async list(): Promise<ServiceRecord[]> {
    const all: ServiceRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new ScanCommand({
          TableName: this.config.servicesTable,
          FilterExpression: '#key = :record',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':record': RECORD_KEY },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        all.push({ ...strip<ServiceRecord>(item)!, name: item.service as string });
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Kept revisions, newest first. */
  async revisions(name: string): Promise<RevisionRecord[]> {
    const items = await this.query(name, 'begins_with(#key, :rev)', { ':rev': 'rev#' });
    return items
      .map((item) => ({ ...strip<RevisionRecord>(item)!, service: name }))
      .sort((a, b) => b.revision - a.revision);
  }

  async revision(name: string, revision: number): Promise<RevisionRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({
        TableName: this.config.servicesTable,
        Key: { service: name, key: revisionKey(revision) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? { ...strip<RevisionRecord>(out.Item)!, service: name } : undefined;
  }

  /**
   * Writes the record: a new one when `before` is undefined (the name must be free), else
   * conditional on `before.version`. With `revision`, stores that revision and drops the one
   * that falls out of the last `keep`. Throws ConflictError when someone wrote first.
   */
  async put(
    before: ServiceRecord | undefined,
    after: ServiceRecord,
    options: { revision?: RevisionRecord; keep?: number; events?: ServiceEvent[] } = {},
  ): Promise<void> {
    const items: Items = [
      {
        Put: {
          TableName: this.config.servicesTable,
          Item: { ...after, service: after.name, key: RECORD_KEY },
          ...(before
            ? {
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': before.version },
              }
            : {
                ConditionExpression: 'attribute_not_exists(#key)',
                ExpressionAttributeNames: { '#key': 'key' },
              }),
        },
      },
    ];
    const { revision, keep = 10 } = options;
    if (revision) {
      items.push({
        Put: {
          TableName: this.config.servicesTable,
          Item: { ...revision, key: revisionKey(revision.revision) },
        },
      });
      const dropped = revision.revision - keep;
      if (dropped > 0) {
        items.push({
          Delete: {
            TableName: this.config.servicesTable,
            Key: { service: after.name, key: revisionKey(dropped) },
          },
        });
      }
    }
    for (const event of options.events ?? []) items.push({ Put: this.eventPut(event) });
    try {
      await this.ddb.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      throw new ConflictError(
        before
          ? `service ${after.name} changed since version ${before.version}`
          : `service ${after.name} already exists`,
        { cause: error },
      );
    }
  }

  /**
   * Creates a replica: its task (PENDING) and first event, and its slot's move to the next
   * generation, in one transaction conditional on the slot's generation and on the service's
   * specVersion. With `placed`, the task is stored as placed (SCHEDULED) with its worker's
   * reservation in the same transaction. Throws ConflictError when another controller filled
   * the slot, or the spec changed, first; CapacityExhaustedError when the placement's room
   * went (or, when the emulator gives no reasons, either may be the case).
   */
  async createReplica(
    service: Pick<ServiceRecord, 'name' | 'specVersion'>,
    slot: SlotRecord,
    task: TaskRecord,
    event: TaskEvent,
    placed?: Transition,
  ): Promise<void> {
    const previousGen = slot.gen - 1;
    const items: Items = [
      {
        ConditionCheck: {
          TableName: this.config.servicesTable,
          Key: { service: service.name, key: RECORD_KEY },
          ConditionExpression: 'specVersion = :spec AND attribute_not_exists(deleting)',
          ExpressionAttributeValues: { ':spec': service.specVersion },
        },
      },
      {
        Put: {
          TableName: this.config.servicesTable,
          Item: { ...slot, service: service.name, key: slotKey(slot.slot) },
          ...(previousGen === 0
            ? {
                ConditionExpression: 'attribute_not_exists(#key)',
                ExpressionAttributeNames: { '#key': 'key' },
              }
            : {
                ConditionExpression: 'gen = :gen',
                ExpressionAttributeValues: { ':gen': previousGen },
              }),
        },
      },
      {
        Put: {
          TableName: this.config.tasksTable,
          Item: taskItem(placed?.after ?? task, this.retention),
          ConditionExpression: 'attribute_not_exists(id)',
        },
      },
      {
        Put: {
          TableName: this.config.eventsTable,
          Item: transitionEventItem(event, this.retention, task),
        },
      },
    ];
    const ownItems = items.length;
    if (placed) {
      items.push({
        Put: {
          TableName: this.config.eventsTable,
          Item: transitionEventItem(placed.event, this.retention, placed.after),
        },
      });
      for (const change of placed.capacity) {
        items.push({ Update: capacityUpdate(this.config.workersTable, change) });
      }
    }
    try {
      await this.ddb.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
      const reserve = placed?.capacity.find((c) => c.kind === 'reserve');
      if (reserve && (failed < 0 || failed > ownItems)) {
        throw new CapacityExhaustedError(reserve.workerId);
      }
      throw new ConflictError(`slot ${slot.slot} of service ${service.name} was taken`, {
        cause: error,
      });
    }
  }

  /**
   * Sets a slot's draining list (its replicas seen gone dropped), if the slot is still at
   * `gen`; false when it moved on (a create wrote the list afresh).
   */
  async pruneDraining(service: string, slot: number, gen: number, draining: string[]) {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.config.servicesTable,
          Key: { service, key: slotKey(slot) },
          ...(draining.length > 0
            ? {
                UpdateExpression: 'SET draining = :draining',
                ExpressionAttributeValues: { ':gen': gen, ':draining': draining },
              }
            : { UpdateExpression: 'REMOVE draining', ExpressionAttributeValues: { ':gen': gen } }),
          ConditionExpression: 'gen = :gen',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Removes the service's record (conditional on its version), slots and revisions. */
  async remove(record: ServiceRecord, events: ServiceEvent[] = []): Promise<void> {
    const items = await this.query(record.name);
    await this.put(record, { ...record, version: record.version + 1 }, { events });
    const keys = items.map((item) => ({ service: record.name, key: item.key as string }));
    for (let i = 0; i < keys.length; i += 25) {
      await this.ddb.send(
        new BatchWriteCommand({
          RequestItems: {
            [this.config.servicesTable]: keys
              .slice(i, i + 25)
              .map((Key) => ({ DeleteRequest: { Key } })),
          },
        }),
      );
    }
  }

  async writeEvents(events: ServiceEvent[]): Promise<void> {
    for (const event of events) {
      await this.ddb.send(
        new TransactWriteCommand({ TransactItems: [{ Put: this.eventPut(event) }] }),
      );
    }
  }

  /** The service's latest events, newest first. */
  async events(name: string, limit = 20): Promise<ServiceEvent[]> {
    const out = await this.ddb.send(
      new QueryCommand({
        TableName: this.config.eventsTable,
        KeyConditionExpression: 'taskId = :id',
        ExpressionAttributeValues: { ':id': serviceEventsKey(name) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((item) => {
      const { taskId: _t, seq: _s, bucket: _b, purgeAt: _p, ...event } = item;
      return event as ServiceEvent;
    });
  }

  private eventPut(event: ServiceEvent) {
    // The sort key orders a service's events in time: milliseconds x 1000 plus a count.
    const seq = Math.max(Date.parse(event.at) * 1000, this.lastEventSeq + 1);
    this.lastEventSeq = seq;
    return {
      TableName: this.config.eventsTable,
      // In the cluster's timeline too (GET /v1/events; core/history/events.ts).
      Item: {
        ...event,
        taskId: serviceEventsKey(event.service),
        seq,
        ...timelineFields(event.at, this.retention),
      },
    };
  }

  private async query(
    name: string,
    keyCondition?: string,
    values: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>[]> {
    const all: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new QueryCommand({
          TableName: this.config.servicesTable,
          KeyConditionExpression: keyCondition
            ? `service = :name AND ${keyCondition}`
            : 'service = :name',
          ...(keyCondition ? { ExpressionAttributeNames: { '#key': 'key' } } : {}),
          ExpressionAttributeValues: { ':name': name, ...values },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      all.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return all;
  }
}
