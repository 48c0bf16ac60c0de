// Tasks and their timelines in DynamoDB. Every state change goes through core's
// transitionTask and is written here in one transaction: the task (conditional on its
// version), the worker's allocation (conditional on free room when reserving) and the event.
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CapacityExhaustedError, ConflictError, NotFoundError } from '../core/errors.js';
import { DEFAULT_RETAIN_FINISHED_MS } from '../core/history/retention.js';
import {
  type Transition,
  type TransitionRequest,
  transitionTask,
} from '../core/taskStateMachine.js';
import type { TaskEvent, TaskHealth, TaskRecord, TaskState } from '../core/types.js';
import type { ControlPlaneConfig } from './config.js';
import {
  fromEventItem,
  fromTaskItem,
  placementEventItem,
  taskItem,
  transitionEventItem,
} from './historyItems.js';
import { capacityUpdate } from './workerStore.js';

/** GSI on (state, createdAt): pending/scheduled sweeps and `?state=` listings. */
export const TASKS_BY_STATE_INDEX = 'byState';
/** Sparse GSI keyed on restartDue: the tasks with a planned restart, and nothing else. */
export const TASKS_BY_RESTART_INDEX = 'byRestart';
/** GSI on (workerId, state): the tasks one worker holds, without reading the cluster's. */
export const TASKS_BY_WORKER_INDEX = 'byWorker';
/** GSI on (idPrefix, id): id-prefix lookups by Query (aws/historyItems.ts idPrefix). */
export const TASKS_BY_PREFIX_INDEX = 'byIdPrefix';

/**
 * What a sweep needs to know of a task in a state, without its spec: a sweep of hundreds of
 * SCHEDULED tasks every 5 s read ~1 KB items whole (bench:throughput), where ~200 B decide.
 */
export type TaskBrief = Pick<
  TaskRecord,
  'id' | 'state' | 'attempt' | 'workerId' | 'scheduledAt' | 'updatedAt' | 'restart'
> & { spec?: { stopTimeoutSeconds?: number } };

const BRIEF_PROJECTION = {
  ProjectionExpression:
    '#id, #state, #attempt, #workerId, #scheduledAt, #updatedAt, #restart, #spec.#stop',
  names: {
    '#id': 'id',
    '#attempt': 'attempt',
    '#workerId': 'workerId',
    '#scheduledAt': 'scheduledAt',
    '#updatedAt': 'updatedAt',
    '#restart': 'restart',
    '#spec': 'spec',
    '#stop': 'stopTimeoutSeconds',
  },
};

export class TaskStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly config: Pick<
      ControlPlaneConfig,
      'tasksTable' | 'eventsTable' | 'workersTable'
    > & { retainFinishedMs?: number },
  ) {}

  /** How long finished tasks and events are kept (CUBE_RETAIN_FINISHED). */
  private get retention(): number {
    return this.config.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS;
  }

  private taskItem(task: TaskRecord) {
    return taskItem(task, this.retention);
  }

  private eventItem(event: TaskEvent, task?: TaskRecord) {
    return transitionEventItem(event, this.retention, task);
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.config.tasksTable, Key: { id }, ConsistentRead: true }),
    );
    return out.Item ? fromTaskItem<TaskRecord>(out.Item) : undefined;
  }

  async require(id: string): Promise<TaskRecord> {
    const task = await this.get(id);
    if (!task) throw new NotFoundError('task', id);
    return task;
  }

  /**
   * Stores a new task and its first event; fails if the id already exists. With `placed` (the
   * new task's move to SCHEDULED, computed by the caller) the same transaction also reserves
   * the worker's room and writes the placement event: submitted and placed in one write.
   */
  async create(task: TaskRecord, event: TaskEvent, placed?: Transition): Promise<void> {
    const capacity = placed?.capacity ?? [];
    try {
      await this.ddb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.config.tasksTable,
                Item: this.taskItem(placed?.after ?? task),
                ConditionExpression: 'attribute_not_exists(id)',
              },
            },
            ...capacity.map((change) => ({
              Update: capacityUpdate(this.config.workersTable, change),
            })),
            { Put: { TableName: this.config.eventsTable, Item: this.eventItem(event, task) } },
            ...(placed
              ? [
                  {
                    Put: {
                      TableName: this.config.eventsTable,
                      Item: this.eventItem(placed.event, task),
                    },
                  },
                ]
              : []),
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failedIndex = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
      const reserve = capacity.find((c) => c.kind === 'reserve');
      // Ids are 48 random bits: without reasons (some emulators) a placed create lost its room.
      if (reserve && failedIndex !== 0) throw new CapacityExhaustedError(reserve.workerId);
      throw new ConflictError(`task ${task.id} already exists`, { cause: error });
    }
  }

  /**
   * Applies one state-machine transition atomically. Throws ConflictError when the task
   * changed since it was read, CapacityExhaustedError when a reservation no longer fits.
   */
  async transition(task: TaskRecord, request: TransitionRequest): Promise<TaskRecord> {
    const transition = transitionTask(task, request);
    await this.write(transition);
    return transition.after;
  }

  /** Writes a computed transition (exposed so callers can inspect it first). */
  async write(transition: Transition): Promise<void> {
    try {
      await this.writeOnce(transition);
    } catch (error) {
      // A release needs its worker's item; one whose worker record vanished (removed, expired)
      // has nothing left to release, and the task must still move on (LOST, rescheduled).
      const vanished = await this.vanishedReleases(transition, error);
      if (vanished.length === 0) throw error;
      await this.writeOnce({
        ...transition,
        capacity: transition.capacity.filter((c) => !vanished.includes(c)),
      });
    }
  }

  private async vanishedReleases(transition: Transition, error: unknown) {
    if (!(error instanceof ConflictError)) return [];
    const releases = transition.capacity.filter((c) => c.kind === 'release');
    const gone = [];
    for (const change of releases) {
      const { Item } = await this.ddb.send(
        new GetCommand({
          TableName: this.config.workersTable,
          Key: { id: change.workerId },
          ProjectionExpression: 'id',
          ConsistentRead: true,
        }),
      );
      if (!Item) gone.push(change);
    }
    return gone;
  }

  private async writeOnce(transition: Transition): Promise<void> {
    const { before, after, event, capacity } = transition;
    const items: NonNullable<
      ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
    > = [
      {
        Put: {
          TableName: this.config.tasksTable,
          Item: this.taskItem(after),
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':version': before.version },
        },
      },
      ...capacity.map((change) => ({ Update: capacityUpdate(this.config.workersTable, change) })),
      { Put: { TableName: this.config.eventsTable, Item: this.eventItem(event, after) } },
    ];
    try {
      await this.ddb.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failedIndex = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
      const change = failedIndex > 0 ? capacity[failedIndex - 1] : undefined;
      if (change?.kind === 'reserve') throw new CapacityExhaustedError(change.workerId);
      if (failedIndex === -1 && capacity.some((c) => c.kind === 'reserve')) {
        // Some emulators omit reasons: tell the two cases apart by re-reading the task.
        const current = await this.get(before.id);
        if (current?.version === before.version) {
          throw new CapacityExhaustedError(capacity.find((c) => c.kind === 'reserve')!.workerId);
        }
      }
      throw new ConflictError(`task ${before.id} changed since version ${before.version}`, {
        cause: error,
      });
    }
  }

  /**
   * A worker's claim of its placement (SCHEDULED -> STARTING): an update of only the fields the
   * claim changes, conditional on the record still being the placement the worker verified
   * (version, worker, attempt, signature). Never a put of a whole record: a copy that came
   * with a message cannot write its spec into the table.
   */
  async claim(task: TaskRecord, by: string): Promise<TaskRecord> {
    const { after, event } = transitionTask(task, { to: 'STARTING', by });
    try {
      await this.ddb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.config.tasksTable,
                Key: { id: task.id },
                UpdateExpression:
                  'SET #state = :starting, #version = :next, updatedAt = :at REMOVE reason',
                ConditionExpression:
                  '#version = :version AND #state = :scheduled AND workerId = :worker AND #attempt = :attempt AND #signature.#value = :signature',
                ExpressionAttributeNames: {
                  '#state': 'state',
                  '#version': 'version',
                  '#attempt': 'attempt',
                  '#signature': 'signature',
                  '#value': 'value',
                },
                ExpressionAttributeValues: {
                  ':starting': 'STARTING',
                  ':scheduled': 'SCHEDULED',
                  ':next': after.version,
                  ':at': after.updatedAt,
                  ':version': task.version,
                  ':worker': task.workerId,
                  ':attempt': task.attempt,
                  ':signature': task.signature?.value ?? '',
                },
              },
            },
            { Put: { TableName: this.config.eventsTable, Item: this.eventItem(event, after) } },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      throw new ConflictError(`task ${task.id} changed since version ${task.version}`, {
        cause: error,
      });
    }
    return after;
  }

  /** Tasks in the given states, oldest first within each state. */
  async listByState(states: readonly TaskState[]): Promise<TaskRecord[]> {
    return this.queryByState<TaskRecord>(states);
  }

  /**
   * Tasks in these states, only the fields of a TaskBrief; with `createdUpTo`, only those
   * created then or before (the index's sort key: the rest are not read at all).
   */
  async listBriefByState(states: readonly TaskState[], createdUpTo?: Date): Promise<TaskBrief[]> {
    return this.queryByState<TaskBrief>(states, true, createdUpTo);
  }

  private async queryByState<T>(
    states: readonly TaskState[],
    brief = false,
    createdUpTo?: Date,
  ): Promise<T[]> {
    const upTo = createdUpTo?.toISOString();
    const all: T[] = [];
    for (const state of states) {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.ddb.send(
          new QueryCommand({
            TableName: this.config.tasksTable,
            IndexName: TASKS_BY_STATE_INDEX,
            KeyConditionExpression: upTo
              ? '#state = :state AND #createdAt <= :upTo'
              : '#state = :state',
            ExpressionAttributeNames: {
              '#state': 'state',
              ...(upTo ? { '#createdAt': 'createdAt' } : {}),
              ...(brief ? BRIEF_PROJECTION.names : {}),
            },
            ...(brief ? { ProjectionExpression: BRIEF_PROJECTION.ProjectionExpression } : {}),
            ExpressionAttributeValues: { ':state': state, ...(upTo ? { ':upTo': upTo } : {}) },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) all.push(fromTaskItem<T>(item));
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return all;
  }

  /**
   * The tasks one worker holds in these states, by Query on (worker, state): a worker's own
   * reconcile and a drain read its tasks only, however many the cluster has.
   */
  async listByWorker(workerId: string, states: readonly TaskState[]): Promise<TaskRecord[]> {
    const all: TaskRecord[] = [];
    for (const state of states) {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.ddb.send(
          new QueryCommand({
            TableName: this.config.tasksTable,
            IndexName: TASKS_BY_WORKER_INDEX,
            KeyConditionExpression: 'workerId = :worker AND #state = :state',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':worker': workerId, ':state': state },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) all.push(fromTaskItem<TaskRecord>(item));
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return all;
  }

  /** Ids of tasks whose planned restart is due by `now`. */
  async dueRestarts(now = new Date()): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new ScanCommand({
          TableName: this.config.tasksTable,
          IndexName: TASKS_BY_RESTART_INDEX,
          FilterExpression: 'restartDue <= :now',
          ExpressionAttributeValues: { ':now': now.toISOString() },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) ids.push(item.id as string);
      start = out.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  async events(taskId: string): Promise<TaskEvent[]> {
    const events: TaskEvent[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new QueryCommand({
          TableName: this.config.eventsTable,
          KeyConditionExpression: 'taskId = :id',
          ExpressionAttributeValues: { ':id': taskId },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const event = fromEventItem(item);
        if (event) events.push(event);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return events;
  }

  /**
   * Records a placement explanation on a PENDING task without a state change, and the failed
   * placement in the cluster's timeline (callers write only when the reason changed).
   */
  async notePending(task: TaskRecord, reason: string, placement: TaskRecord['placement']) {
    const next: TaskRecord = {
      ...task,
      reason,
      placement,
      version: task.version + 1,
      updatedAt: new Date().toISOString(),
    };
    const event = placementEventItem(next, this.retention);
    try {
      await this.ddb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.config.tasksTable,
                Item: this.taskItem(next),
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': task.version },
              },
            },
            { Put: { TableName: this.config.eventsTable, Item: event } },
          ],
        }),
      );
    } catch (error) {
      if (
        error instanceof TransactionCanceledException ||
        (error as Error).name === 'ConditionalCheckFailedException'
      ) {
        throw new ConflictError(`task ${task.id} changed since version ${task.version}`);
      }
      throw error;
    }
    return next;
  }

  /**
   * Records a health status change on a task without a state change (a worker writes it only
   * when the status changes, not on every probe). Conditional on the version, like a transition.
   */
  async noteHealth(task: TaskRecord, health: TaskHealth): Promise<TaskRecord> {
    const next: TaskRecord = {
      ...task,
      health,
      version: task.version + 1,
      updatedAt: new Date().toISOString(),
    };
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.config.tasksTable,
          Key: { id: task.id },
          UpdateExpression: 'SET health = :health, #version = :next, updatedAt = :at',
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: {
            ':health': health,
            ':next': next.version,
            ':at': next.updatedAt,
            ':version': task.version,
          },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new ConflictError(`task ${task.id} changed since version ${task.version}`);
      }
      throw error;
    }
    return next;
  }
}
