// The worker's core once it knows who it is: queue loop, Docker events, heartbeat and local
// reconciliation, sharing one context. The daemon starts it after registering over HTTP;
// tests start it directly after registering through the stores.
import type Docker from 'dockerode';
import { type AwsClients, awsClients } from '../aws/clients.js';
import { Queues } from '../aws/queues.js';
import { TaskStore } from '../aws/taskStore.js';
import { WorkerStore } from '../aws/workerStore.js';
import type { WorkerMessage } from '../core/messages.js';
import { followContainerEvents, handleContainerDied } from './containerEvents.js';
import { DockerRuntime } from './dockerRuntime.js';
import { HostMetricsSampler, runHeartbeat } from './heartbeat.js';
import { dockerDataRoot } from './hostCapacity.js';
import {
  DEFAULT_RECONCILE_INTERVAL_MS,
  type LocalReconcileReport,
  reconcileLocal,
} from './localReconcile.js';
import { runQueueLoop } from './queueLoop.js';
import type { WorkerControlPlaneConfig } from './registration.js';
import { handleRun } from './runTask.js';
import { handleStop } from './stopTask.js';
import { TaskLocks } from './taskLocks.js';
import { sleep } from './timing.js';
import type { WorkerContext } from './workerContext.js';

export interface WorkerAgentOptions {
  workerId: string;
  queueUrl: string;
  config: Pick<
    WorkerControlPlaneConfig,
    'tasksTable' | 'workersTable' | 'eventsTable' | 'heartbeatIntervalMs'
  >;
  docker: Docker;
  clients?: AwsClients;
  log?: (line: string) => void;
  /** Called when a heartbeat is refused (worker DOWN or gone): register again. */
  reregister?: () => Promise<void>;
  heartbeatIntervalMs?: number;
  reconcileIntervalMs?: number;
  stopTimeoutSeconds?: number;
  pullTimeoutMs?: number;
  /** Long-poll wait of the queue loop (SQS allows 0..20 s). */
  queueWaitSeconds?: number;
}

export interface WorkerAgent {
  readonly workerId: string;
  readonly context: WorkerContext;
  /** Runs one local reconciliation pass now. */
  reconcileNow(): Promise<LocalReconcileReport>;
  /** Stops polling, heartbeats and the events stream; containers keep running. */
  stop(): Promise<void>;
  /** Settles once the agent has stopped. */
  readonly done: Promise<void>;
}

/** Waits for `work`, but no longer than `ms` (and leaves no timer behind). */
async function raceTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  const timeout = new AbortController();
  try {
    await Promise.race([work, sleep(ms, timeout.signal)]);
  } finally {
    timeout.abort();
  }
}

/** How long a clean shutdown waits for the task handling already under way. */
const SHUTDOWN_GRACE_MS = 30_000;

export async function startWorkerAgent(options: WorkerAgentOptions): Promise<WorkerAgent> {
  const log = options.log ?? (() => {});
  const clients = options.clients ?? awsClients();
  const { workerId, config, docker } = options;
  const tableConfig = {
    tasksTable: config.tasksTable,
    workersTable: config.workersTable,
    eventsTable: config.eventsTable,
  };
  const tasks = new TaskStore(clients.ddb, tableConfig);
  const workers = new WorkerStore(clients.ddb, tableConfig);
  // A worker only receives from and deletes on the queue URL it was given.
  const queues = new Queues(clients.sqs, { schedulingQueueName: '', workerQueuePrefix: '' });
  const runtime = new DockerRuntime(docker, workerId, {
    log,
    ...(options.stopTimeoutSeconds !== undefined
      ? { stopTimeoutSeconds: options.stopTimeoutSeconds }
      : {}),
    ...(options.pullTimeoutMs !== undefined ? { pullTimeoutMs: options.pullTimeoutMs } : {}),
  });
  const context: WorkerContext = {
    workerId,
    by: `worker:${workerId}`,
    tasks,
    runtime,
    locks: new TaskLocks(),
    log,
  };

  const controller = new AbortController();
  const { signal } = controller;
  const background = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>, what: string) => {
    const tracked = work
      .catch((error: Error) => log(`${what} failed: ${error.message}`))
      .finally(() => background.delete(tracked));
    background.add(tracked);
  };

  let reconciling: Promise<LocalReconcileReport> | undefined;
  const reconcileNow = () => {
    reconciling ??= reconcileLocal(context).finally(() => {
      reconciling = undefined;
    });
    return reconciling;
  };

  // Events first, so no exit happens unseen between the first reconcile and the stream.
  let connected!: () => void;
  const firstConnection = new Promise<void>((resolve) => {
    connected = resolve;
  });
  const events = followContainerEvents({
    docker,
    workerId,
    signal,
    log,
    onConnected: () => connected(),
    onDie: (died) => track(handleContainerDied(context, died), `recording exit of ${died.taskId}`),
  });
  await raceTimeout(firstConnection, 5_000);

  try {
    const report = await reconcileNow();
    if (Object.values(report).some((n) => n > 0))
      log(`startup reconcile: ${JSON.stringify(report)}`);
  } catch (error) {
    log(`startup reconcile failed: ${(error as Error).message}`);
  }

  const handle = async (message: WorkerMessage): Promise<string> =>
    message.kind === 'run' ? handleRun(context, message) : handleStop(context, message);
  const queueLoop = runQueueLoop({
    queues,
    queueUrl: options.queueUrl,
    signal,
    handle,
    log,
    ...(options.queueWaitSeconds !== undefined ? { waitSeconds: options.queueWaitSeconds } : {}),
  });

  const sampler = new HostMetricsSampler(await dockerDataRoot(docker));
  const heartbeat = runHeartbeat({
    workerId,
    workers,
    intervalMs: options.heartbeatIntervalMs ?? config.heartbeatIntervalMs,
    sampler,
    countRunningTasks: () => runtime.countRunning(),
    log,
    signal,
    ...(options.reregister ? { reregister: options.reregister } : {}),
  });

  const reconcileLoop = (async () => {
    const interval = options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
    while (!signal.aborted) {
      await sleep(interval, signal);
      if (signal.aborted) break;
      try {
        const report = await reconcileNow();
        if (Object.values(report).some((n) => n > 0)) log(`reconcile: ${JSON.stringify(report)}`);
      } catch (error) {
        log(`reconcile failed: ${(error as Error).message}`);
      }
    }
  })();

  const done = (async () => {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    const settled = Promise.allSettled([
      queueLoop,
      events,
      heartbeat,
      reconcileLoop,
      ...background,
      ...(reconciling ? [reconciling] : []),
    ]);
    await raceTimeout(settled, SHUTDOWN_GRACE_MS);
  })();

  return {
    workerId,
    context,
    reconcileNow,
    stop: async () => {
      controller.abort();
      await done;
    },
    done,
  };
}
