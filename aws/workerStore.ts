// Worker records in DynamoDB. Allocation is kept flat beside a `free*` copy so that a
// reservation is one conditional ADD ("free >= demand"): two schedulers racing for the last
// room on a worker cannot both win.
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../core/errors.js';
import {
  DEFAULT_RETAIN_FINISHED_MS,
  TTL_ATTRIBUTE,
  toEpochSeconds,
} from '../core/history/retention.js';
import type { CapacityChange } from '../core/taskStateMachine.js';
import type {
  EngineHealth,
  Resources,
  WorkerInstance,
  WorkerMetrics,
  WorkerRecord,
  WorkerState,
} from '../core/types.js';
import {
  type InstanceClaim,
  instanceConflict,
  WorkerDisplacedError,
} from '../core/workerInstance.js';
import type { ControlPlaneConfig } from './config.js';

/** A DOWN worker's TTL comes this long after the reconciler's removal is due. */
export const WORKER_TTL_BACKSTOP_MS = 86_400_000;

interface WorkerItem {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: WorkerState;
  cordoned: boolean;
  capCpuMillis: number;
  capMemoryBytes: number;
  capDiskBytes: number;
  allocCpuMillis: number;
  allocMemoryBytes: number;
  allocDiskBytes: number;
  allocTasks: number;
  freeCpuMillis: number;
  freeMemoryBytes: number;
  freeDiskBytes: number;
  /** String set of `tcp/8080`; absent when empty (DynamoDB has no empty sets). */
  usedPorts?: Set<string>;
  queueUrl: string;
  registeredAt: string;
  heartbeatAt: string;
  /** The interval the worker declared with its last heartbeat (adaptive: idle workers beat less). */
  heartbeatIntervalMs?: number;
  queueCaughtUpAt?: string;
  metrics?: WorkerMetrics;
  engine?: EngineHealth;
  instance?: WorkerInstance;
  /** The registered instance's nonce: its heartbeats are conditional on it. Never listed. */
  instanceNonce?: string;
  version?: string;
  address?: string;
  downAt?: string;
  purgeAt?: number;
}

export function toWorkerRecord(item: WorkerItem): WorkerRecord {
  return {
    id: item.id,
    name: item.name,
    labels: item.labels ?? {},
    state: item.state,
    cordoned: item.cordoned ?? false,
    capacity: {
      cpuMillis: item.capCpuMillis,
      memoryBytes: item.capMemoryBytes,
      diskBytes: item.capDiskBytes,
    },
    allocated: {
      cpuMillis: item.allocCpuMillis,
      memoryBytes: item.allocMemoryBytes,
      diskBytes: item.allocDiskBytes,
      tasks: item.allocTasks,
    },
    ...(item.usedPorts && item.usedPorts.size > 0 ? { usedPorts: [...item.usedPorts].sort() } : {}),
    queueUrl: item.queueUrl,
    ...(item.address ? { address: item.address } : {}),
    registeredAt: item.registeredAt,
    heartbeatAt: item.heartbeatAt,
    ...(item.heartbeatIntervalMs ? { heartbeatIntervalMs: item.heartbeatIntervalMs } : {}),
    ...(item.queueCaughtUpAt ? { queueCaughtUpAt: item.queueCaughtUpAt } : {}),
    ...(item.metrics ? { metrics: item.metrics } : {}),
    ...(item.engine ? { engine: item.engine } : {}),
    ...(item.instance ? { instance: item.instance } : {}),
    ...(item.version ? { version: item.version } : {}),
    ...(item.downAt ? { downAt: item.downAt } : {}),
    ...(item.purgeAt ? { purgeAt: item.purgeAt } : {}),
  };
}

/** The Update of a transaction that applies one capacity change to a worker. */
export function capacityUpdate(table: string, change: CapacityChange) {
  const d = change.delta;
  const values: Record<string, unknown> = {
    ':c': d.cpuMillis,
    ':m': d.memoryBytes,
    ':d': d.diskBytes,
    ':t': d.tasks,
    ':nc': -d.cpuMillis,
    ':nm': -d.memoryBytes,
    ':nd': -d.diskBytes,
  };
  let condition = 'attribute_exists(id)';
  if (change.kind === 'reserve') {
    condition +=
      ' AND freeCpuMillis >= :c AND freeMemoryBytes >= :m AND freeDiskBytes >= :d' +
      ' AND #state = :ready AND cordoned = :false';
    values[':ready'] = 'READY';
    values[':false'] = false;
  }
  // Host ports move with the allocation: a reservation also needs each port absent.
  const ports = change.ports ?? [];
  let portsUpdate = '';
  if (ports.length > 0) {
    values[':ports'] = new Set(ports);
    if (change.kind === 'reserve') {
      ports.forEach((port, i) => {
        values[`:p${i}`] = port;
        condition += ` AND NOT contains(usedPorts, :p${i})`;
      });
      portsUpdate = ', usedPorts :ports';
    } else {
      portsUpdate = ' DELETE usedPorts :ports';
    }
  }
  return {
    TableName: table,
    Key: { id: change.workerId },
    UpdateExpression:
      'ADD allocCpuMillis :c, allocMemoryBytes :m, allocDiskBytes :d, allocTasks :t, ' +
      `freeCpuMillis :nc, freeMemoryBytes :nm, freeDiskBytes :nd${portsUpdate}`,
    ConditionExpression: condition,
    ...(change.kind === 'reserve' ? { ExpressionAttributeNames: { '#state': 'state' } } : {}),
    ExpressionAttributeValues: values,
  };
}

export interface Registration {
  id: string;
  name: string;
  labels: Record<string, string>;
  capacity: Resources;
  queueUrl: string;
  version?: string;
  address?: string;
  /** The daemon instance registering; refused while another holds the name and is alive. */
  instance?: InstanceClaim;
  /** The control plane's heartbeat TTL (a holder silent longer is taken over). */
  heartbeatTtlMs?: number;
}

/** What a heartbeat may carry beside its metrics. */
export interface HeartbeatExtra {
  /** The nonce this daemon registered with: the beat is refused if another has since. */
  instanceNonce?: string;
  /** The engine's answer to this beat's ping (the scheduler skips a worker whose did not come). */
  engine?: EngineHealth;
}

export class WorkerStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly config: Pick<ControlPlaneConfig, 'workersTable'> & {
      retainFinishedMs?: number;
    },
  ) {}

  async get(id: string): Promise<WorkerRecord | undefined> {
    const item = await this.getItem(id);
    return item ? toWorkerRecord(item) : undefined;
  }

  private async getItem(id: string): Promise<WorkerItem | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.config.workersTable, Key: { id }, ConsistentRead: true }),
    );
    return out.Item as WorkerItem | undefined;
  }

  /**
   * A daemon shutting down gives up its name, so its successor (a restart) registers at once
   * instead of waiting out its TTL. Only while the name is still its own.
   */
  async release(id: string, instanceNonce: string): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.config.workersTable,
          Key: { id },
          UpdateExpression: 'REMOVE instanceNonce',
          ConditionExpression: 'instanceNonce = :nonce',
          ExpressionAttributeValues: { ':nonce': instanceNonce },
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  async require(id: string): Promise<WorkerRecord> {
    const worker = await this.get(id);
    if (!worker) throw new NotFoundError('worker', id);
    return worker;
  }

  async list(): Promise<WorkerRecord[]> {
    const items: WorkerItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new ScanCommand({
          TableName: this.config.workersTable,
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      items.push(...((out.Items ?? []) as WorkerItem[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items.map(toWorkerRecord).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Creates the worker, or updates a returning one in place: its allocation (what its tasks
   * still hold) is kept, and free room is recomputed against the capacity it reports now.
   */
  async register(reg: Registration, now = new Date()): Promise<WorkerRecord> {
    const at = now.toISOString();
    for (let tries = 0; tries < 5; tries++) {
      const raw = await this.getItem(reg.id);
      const existing = raw ? toWorkerRecord(raw) : undefined;
      const refusal = instanceConflict(
        existing && {
          ...existing,
          ...(raw?.instanceNonce ? { instanceNonce: raw.instanceNonce } : {}),
        },
        reg.instance,
        now,
        reg.heartbeatTtlMs ?? 0,
      );
      if (refusal) throw refusal;
      const sameInstance = reg.instance && raw?.instanceNonce === reg.instance.nonce;
      const alloc = existing?.allocated ?? { cpuMillis: 0, memoryBytes: 0, diskBytes: 0, tasks: 0 };
      const item: WorkerItem = {
        id: reg.id,
        name: reg.name,
        labels: reg.labels,
        state: 'READY',
        cordoned: existing?.cordoned ?? false,
        capCpuMillis: reg.capacity.cpuMillis,
        capMemoryBytes: reg.capacity.memoryBytes,
        capDiskBytes: reg.capacity.diskBytes,
        allocCpuMillis: alloc.cpuMillis,
        allocMemoryBytes: alloc.memoryBytes,
        allocDiskBytes: alloc.diskBytes,
        allocTasks: alloc.tasks,
        freeCpuMillis: reg.capacity.cpuMillis - alloc.cpuMillis,
        freeMemoryBytes: reg.capacity.memoryBytes - alloc.memoryBytes,
        freeDiskBytes: reg.capacity.diskBytes - alloc.diskBytes,
        // Held by its placed tasks, like the allocation (guarded by the same condition).
        ...(existing?.usedPorts ? { usedPorts: new Set(existing.usedPorts) } : {}),
        queueUrl: reg.queueUrl,
        registeredAt: existing?.registeredAt ?? at,
        heartbeatAt: at,
        ...(reg.version ? { version: reg.version } : {}),
        ...(reg.address ? { address: reg.address } : {}),
        ...(reg.instance
          ? {
              instanceNonce: reg.instance.nonce,
              instance: {
                hostname: reg.instance.hostname,
                pid: reg.instance.pid,
                registeredAt: (sameInstance && raw?.instance?.registeredAt) || at,
              },
            }
          : {}),
      };
      // Optimistic on the allocation and the instance we read: a concurrent reservation is
      // not lost, and of two instances registering at once the second reads the first.
      const seenNonce = raw?.instanceNonce
        ? 'instanceNonce = :nonce'
        : 'attribute_not_exists(instanceNonce)';
      try {
        await this.ddb.send(
          new PutCommand({
            TableName: this.config.workersTable,
            Item: item,
            ConditionExpression: existing
              ? `allocCpuMillis = :c AND allocMemoryBytes = :m AND allocDiskBytes = :d AND allocTasks = :t AND ${seenNonce}`
              : 'attribute_not_exists(id)',
            ...(existing
              ? {
                  ExpressionAttributeValues: {
                    ':c': alloc.cpuMillis,
                    ':m': alloc.memoryBytes,
                    ':d': alloc.diskBytes,
                    ':t': alloc.tasks,
                    ...(raw?.instanceNonce ? { ':nonce': raw.instanceNonce } : {}),
                  },
                }
              : {}),
          }),
        );
        return toWorkerRecord(item);
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
    throw new ConflictError(`worker ${reg.id} kept changing during registration; try again`);
  }

  /**
   * Heartbeat with fresh metrics and the interval until the next one (the reconciler's TTL for
   * this worker follows it); fails if the worker was removed or marked DOWN.
   */
  async heartbeat(
    id: string,
    metrics: WorkerMetrics,
    now = new Date(),
    intervalMs?: number,
    queueCaughtUpAt?: Date,
    extra: HeartbeatExtra = {},
  ): Promise<void> {
    const set = ['heartbeatAt = :at', '#metrics = :metrics'];
    if (extra.engine) set.push('engine = :engine');
    const nonce = extra.instanceNonce ? ' AND instanceNonce = :nonce' : '';
    const remove: string[] = [];
    if (intervalMs === undefined) remove.push('heartbeatIntervalMs');
    else set.push('heartbeatIntervalMs = :interval');
    if (queueCaughtUpAt === undefined) remove.push('queueCaughtUpAt');
    else set.push('queueCaughtUpAt = :caughtUp');
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.config.workersTable,
          Key: { id },
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: `attribute_exists(id) AND #state = :ready${nonce}`,
          ExpressionAttributeNames: { '#state': 'state', '#metrics': 'metrics' },
          ExpressionAttributeValues: {
            ':at': now.toISOString(),
            ':metrics': metrics,
            ':ready': 'READY',
            ...(intervalMs === undefined ? {} : { ':interval': intervalMs }),
            ...(queueCaughtUpAt === undefined
              ? {}
              : { ':caughtUp': queueCaughtUpAt.toISOString() }),
            ...(extra.engine ? { ':engine': extra.engine } : {}),
            ...(extra.instanceNonce ? { ':nonce': extra.instanceNonce } : {}),
          },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        const holder = extra.instanceNonce ? await this.getItem(id) : undefined;
        if (holder?.instanceNonce && holder.instanceNonce !== extra.instanceNonce) {
          throw new WorkerDisplacedError(holder.name, holder.instance);
        }
        throw new ConflictError(`worker ${id} is not registered as READY; register again`);
      }
      throw error;
    }
  }

  /**
   * Marks a silent worker DOWN, unless it heartbeated since `seenHeartbeatAt` was read.
   * Returns whether this call made the change.
   */
  async markDown(id: string, seenHeartbeatAt: string, now = new Date()): Promise<boolean> {
    // Removed with its queue by the reconciler after the retention; the TTL, a day later, is
    // the backstop should the reconciler not get to it (registering again clears both).
    const retention = this.config.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS;
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.config.workersTable,
          Key: { id },
          UpdateExpression: 'SET #state = :down, downAt = :at, #purgeAt = :purgeAt',
          ConditionExpression: '#state = :ready AND heartbeatAt = :seen',
          ExpressionAttributeNames: { '#state': 'state', '#purgeAt': TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':down': 'DOWN',
            ':ready': 'READY',
            ':seen': seenHeartbeatAt,
            ':at': now.toISOString(),
            ':purgeAt': toEpochSeconds(now.getTime() + retention + WORKER_TTL_BACKSTOP_MS),
          },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Cordoned workers keep their tasks but take no new ones (the reservation checks it too). */
  async setCordoned(id: string, cordoned: boolean): Promise<WorkerRecord> {
    try {
      const out = await this.ddb.send(
        new UpdateCommand({
          TableName: this.config.workersTable,
          Key: { id },
          UpdateExpression: 'SET cordoned = :c',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':c': cordoned },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toWorkerRecord(out.Attributes as WorkerItem);
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new NotFoundError('worker', id);
      }
      throw error;
    }
  }

  /**
   * Deletes a DOWN worker's record (conditional: one that came back READY meanwhile stays).
   * Returns whether this call deleted it.
   */
  async removeDown(id: string): Promise<boolean> {
    try {
      await this.ddb.send(
        new DeleteCommand({
          TableName: this.config.workersTable,
          Key: { id },
          ConditionExpression: '#state = :down AND allocTasks = :none',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':down': 'DOWN', ':none': 0 },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async setState(id: string, state: WorkerState): Promise<void> {
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.config.workersTable,
        Key: { id },
        UpdateExpression: 'SET #state = :state',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':state': state },
      }),
    );
  }
}
