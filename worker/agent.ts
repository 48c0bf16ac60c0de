// The worker's core once it knows who it is: queue loop, Docker events, heartbeat and local
// reconciliation, sharing one context. The daemon starts it after registering over HTTP;
// tests start it directly after registering through the stores.
import type Docker from 'dockerode';
import { type AwsClients, awsClients } from '../aws/clients.js';
import { logsClient } from '../aws/logsClient.js';
import { Queues } from '../aws/queues.js';
import { TaskStore } from '../aws/taskStore.js';
import { WorkerStore } from '../aws/workerStore.js';
import { type ContainerPolicy, containerPolicyFromEnv } from '../core/containerPolicy.js';
import type { ReceivedWorkerMessage, ScheduleMessage } from '../core/messages.js';
import { parsePlacementKey } from '../core/placementSignature.js';
import { RESTART_DEFAULTS } from '../core/restartPolicy.js';
import { EngineWatch } from './control/engineWatch.js';
import { DisconnectFence } from './control/fencing.js';
import { HeartbeatWaker, HostMetricsSampler, runHeartbeat } from './control/heartbeat.js';
import {
  DEFAULT_RECONCILE_INTERVAL_MS,
  type LocalReconcileReport,
  reconcileLocal,
  reconcileLocalLight,
} from './control/localReconcile.js';
import { runQueueLoop } from './control/queueLoop.js';
import type { WorkerControlPlaneConfig } from './control/registration.js';
import type { ContainerRuntime } from './engine/containerRuntime.js';
import { DEFAULT_START_CONCURRENCY, DockerRuntime } from './engine/dockerRuntime.js';
import { dockerDataRoot } from './host/hostCapacity.js';
import { LogShipping, type LogShippingOptions } from './logs/logShipping.js';
import { ShippingRuntime } from './logs/shippingRuntime.js';
import { confirmedOf } from './tasks/confirmedRunning.js';
import { followContainerEvents, handleContainerDied } from './tasks/containerEvents.js';
import { ExitRecorder } from './tasks/exitRecorder.js';
import { HealthMonitors } from './tasks/healthMonitor.js';
import { RestartTimers } from './tasks/restartTimers.js';
import { handleRun } from './tasks/runTask.js';
import { AwsSecretStores, type SecretStores } from './tasks/secrets.js';
import { handleStop } from './tasks/stopTask.js';
import { TaskLocks } from './tasks/taskLocks.js';
import { adoptPlannedRestarts, carryOutRestart } from './tasks/taskRestart.js';
import type { WorkerContext } from './tasks/workerContext.js';
import { retryUntilDone, sleep } from './timing.js';

export interface WorkerAgentOptions {
  workerId: string;
  queueUrl: string;
  config: Pick<
    WorkerControlPlaneConfig,
    | 'tasksTable'
    | 'workersTable'
    | 'eventsTable'
    | 'heartbeatIntervalMs'
    | 'heartbeatIdleIntervalMs'
    | 'restart'
    | 'schedulingQueueUrl'
    | 'deadLetterQueueUrl'
    | 'logGroup'
    | 'retainFinishedMs'
  >;
  /**
   * The control plane's public key (`ed25519:...`): a pinned CUBE_CONTROL_PLANE_KEY, else the
   * one registration returned. Placements not signed with it run nothing.
   */
  controlPlaneKey: string;
  /** What this host runs at most; default: its own CUBE_ALLOW_* settings (closed when unset). */
  hostPolicy?: ContainerPolicy;
  /** Where tasks' secrets are read; default: SSM and Secrets Manager with the host's credentials. */
  secrets?: SecretStores;
  /** The engine; optional only with a `runtime` that needs none (then no events stream). */
  docker?: Docker;
  /** Default: DockerRuntime over `docker`. The scale benchmark passes a simulated one. */
  runtime?: ContainerRuntime;
  /** Default: host metrics from systeminformation. */
  sampler?: Pick<HostMetricsSampler, 'sample'>;
  clients?: AwsClients;
  log?: (line: string) => void;
  /** The nonce the daemon registered with: heartbeats are conditional on it. */
  instanceNonce?: string;
  /** Called when a heartbeat is refused (worker DOWN or gone): register again. */
  reregister?: () => Promise<void>;
  heartbeatIntervalMs?: number;
  heartbeatIdleIntervalMs?: number;
  reconcileIntervalMs?: number;
  /** Stop timeout for containers without a task record (orphans); tasks bring their own. */
  stopTimeoutSeconds?: number;
  pullTimeoutMs?: number;
  /** Container starts at once (DockerRuntime's default when unset). */
  startConcurrency?: number;
  /** The Docker network tasks with network `bridge` join (`--bridge-network`; default `bridge`). */
  bridgeNetwork?: string;
  /** Long-poll wait of the queue loop (SQS allows 0..20 s). */
  queueWaitSeconds?: number;
  /** The queue loop's gathering pause after a partial batch (default 250 ms). */
  receiveWindowMs?: number;
  /**
   * Shipping of container output to the control plane's log group (worker/logs/): on with
   * Docker and a log group named by the control plane; `false` turns it off.
   */
  logShipping?: Partial<Omit<LogShippingOptions, 'docker' | 'logGroup'>> | false;
}

export interface WorkerAgent {
  readonly workerId: string;
  readonly context: WorkerContext;
  /** Runs one local reconciliation pass now. */
  reconcileNow(): Promise<LocalReconcileReport>;
  /** Stops polling, heartbeats and the events stream; containers keep running. */
  stop(): Promise<void>;
  /** The log shipping of this worker, when on. */
  readonly logShipping: LogShipping | undefined;
  /** Settles once the agent has stopped. */
  readonly done: Promise<void>;
  /** Why it stopped on its own: another daemon registered under its name. */
  readonly displaced: Error | undefined;
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

/**
 * The worker's queues: it only receives from and deletes on its own queue, and nudges the
 * scheduler after handing a task back. A control plane that does not name its scheduling
 * queue leaves that nudge to the reconciler's sweep of PENDING tasks.
 */
class WorkerQueues extends Queues {
  constructor(
    sqs: AwsClients['sqs'],
    private readonly knownSchedulingUrl: string | undefined,
    private readonly log: (line: string) => void,
  ) {
    super(sqs, {
      schedulingQueueName: '',
      workerQueuePrefix: '',
      ...(knownSchedulingUrl ? { schedulingQueueUrl: knownSchedulingUrl } : {}),
    });
  }

  override async sendSchedule(message: ScheduleMessage, delaySeconds = 0): Promise<void> {
    if (this.knownSchedulingUrl) return super.sendSchedule(message, delaySeconds);
    this.log(`task ${message.taskId}: no scheduling queue known; the reconciler will place it`);
  }
}

export async function startWorkerAgent(options: WorkerAgentOptions): Promise<WorkerAgent> {
  const log = options.log ?? (() => {});
  const clients = options.clients ?? awsClients();
  const { workerId, config, docker } = options;
  const tableConfig = {
    tasksTable: config.tasksTable,
    workersTable: config.workersTable,
    eventsTable: config.eventsTable,
    ...(config.retainFinishedMs ? { retainFinishedMs: config.retainFinishedMs } : {}),
  };
  const tasks = new TaskStore(clients.ddb, tableConfig);
  const workers = new WorkerStore(clients.ddb, tableConfig);
  const queues = new WorkerQueues(clients.sqs, config.schedulingQueueUrl, log);
  if (!docker && !options.runtime) throw new Error('a worker agent needs docker or a runtime');
  const engine =
    options.runtime ??
    new DockerRuntime(docker!, workerId, {
      log,
      ...(options.stopTimeoutSeconds !== undefined
        ? { stopTimeoutSeconds: options.stopTimeoutSeconds }
        : {}),
      ...(options.pullTimeoutMs !== undefined ? { pullTimeoutMs: options.pullTimeoutMs } : {}),
      ...(options.startConcurrency !== undefined
        ? { startConcurrency: options.startConcurrency }
        : {}),
      ...(options.bridgeNetwork !== undefined ? { bridgeNetwork: options.bridgeNetwork } : {}),
    });
  const logShipping =
    docker && config.logGroup && options.logShipping !== false
      ? new LogShipping({
          docker,
          client: logsClient(),
          log,
          ...options.logShipping,
          logGroup: config.logGroup,
        })
      : undefined;
  // Every container start, adoption, end and removal goes through the shipping (one place).
  const runtime = logShipping ? new ShippingRuntime(engine, logShipping) : engine;
  const controller = new AbortController();
  let displaced: Error | undefined;
  const { signal } = controller;
  const background = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>, what: string) => {
    const tracked = work
      .catch((error: Error) => log(`${what} failed: ${error.message}`))
      .finally(() => background.delete(tracked));
    background.add(tracked);
  };

  // The timers and monitors need the context they belong to: filled in right below.
  const context = {
    workerId,
    by: `worker:${workerId}`,
    tasks,
    workers,
    queues,
    restartSettings: config.restart ?? RESTART_DEFAULTS,
    runtime,
    locks: new TaskLocks(),
    log,
    controlPlaneKey: parsePlacementKey(options.controlPlaneKey),
    hostPolicy: options.hostPolicy ?? containerPolicyFromEnv(process.env),
    secrets: options.secrets ?? new AwsSecretStores(),
  } as Omit<WorkerContext, 'restarts' | 'health'> as WorkerContext;
  context.restarts = new RestartTimers((taskId) => carryOutRestart(context, taskId), track);
  context.health = new HealthMonitors(context, track);

  let reconciling: Promise<LocalReconcileReport> | undefined;
  /** Full by default; the periodic pass is light (no Query: see localReconcile.ts). */
  const reconcileNow = (light = false) => {
    reconciling ??= (light ? reconcileLocalLight : reconcileLocal)(context).finally(() => {
      reconciling = undefined;
    });
    return reconciling;
  };

  /** A reconcile pass in the background, e.g. when Docker or the control plane is back. */
  const resync = (why: string) =>
    track(
      reconcileNow().then((report) => {
        if (Object.values(report).some((n) => n > 0)) log(`${why}: ${JSON.stringify(report)}`);
      }),
      `reconcile (${why})`,
    );

  // Work on an idle worker: beat now, at the busy interval, so the reconciler sees it alive.
  const waker = new HeartbeatWaker();
  waker.starting = true; // until the queue loop receives (below)
  context.onWork = () => waker.wake();
  let queueCaughtUpAt: Date | undefined;
  // The heartbeat before anything that waits on the engine: the events stream, the startup
  // reconcile and `docker info` can take seconds each on a busy engine, and until the first
  // beat the worker is judged by its registration time (bench:throughput: a worker that
  // registered while nine others were starting containers was taken for lost 15 s later, its
  // 30 tasks rescheduled). The data root (for the disk figures) is found meanwhile.
  const sampler = options.sampler ?? new HostMetricsSampler(docker ? dockerDataRoot(docker) : '/');
  const idleInterval =
    options.heartbeatIdleIntervalMs ??
    (options.heartbeatIntervalMs === undefined ? config.heartbeatIdleIntervalMs : undefined);
  const busyInterval = options.heartbeatIntervalMs ?? config.heartbeatIntervalMs;
  // Its answer changing beats at once (`wake(false)`: a beat, not a busy spell).
  const engineWatch = new EngineWatch(runtime, {
    intervalMs: busyInterval,
    onChange: () => waker.wake(false),
    log,
  });
  const watching = engineWatch.run(signal);
  const fence = new DisconnectFence(runtime, log);
  const fencing = fence.run(signal);
  const heartbeat = runHeartbeat({
    workerId,
    workers,
    intervalMs: busyInterval,
    waker,
    // An explicit interval (tests, a user's flag) means "beat this often", idle or not.
    ...(idleInterval ? { idleIntervalMs: idleInterval } : {}),
    sampler,
    // What the worker already knows (containers it saw running under their RUNNING record),
    // not a Docker listing every beat: a listing walks every container on the engine.
    countRunningTasks: () => {
      const known = confirmedOf(context);
      return known ? Promise.resolve(known.size) : runtime.countRunning();
    },
    queueCaughtUpAt: () => queueCaughtUpAt,
    engineHealth: () => engineWatch.current,
    onContact: () => fence.contact(),
    log,
    signal,
    // Back in touch (after an outage, or registered again after being marked DOWN): the
    // records may have changed meanwhile (tasks taken away, stops requested).
    onRecovered: () => resync('reconcile after the control plane came back'),
    ...(options.reregister ? { reregister: options.reregister } : {}),
    ...(options.instanceNonce ? { instanceNonce: options.instanceNonce } : {}),
    // Another daemon holds the name now: stop taking work from the queue it shares.
    onDisplaced: (error) => {
      displaced = error;
      controller.abort();
    },
  });

  // An exit that cannot be written now (control plane unreachable) is retried until it is;
  // the container stays until then, so the local reconcile can re-derive it from Docker too,
  // and does for exits beyond the recorder's bound.
  const exits = new ExitRecorder({
    record: (died) =>
      retryUntilDone(() => handleContainerDied(context, died), {
        signal,
        log,
        what: `recording the exit of task ${died.taskId} attempt ${died.attempt}`,
      }),
    onOverflow: () => resync('reconcile for container exits beyond the bound'),
    log,
  });
  // Events first, so no exit happens unseen between the first reconcile and the stream.
  let connected!: () => void;
  const firstConnection = new Promise<void>((resolve) => {
    connected = resolve;
  });
  let connections = 0;
  const events = docker
    ? followContainerEvents({
        docker,
        workerId,
        signal,
        log,
        onConnected: () => {
          connected();
          // A reopened stream (Docker restarted, say) may have missed exits: look again.
          if (connections++ > 0) resync('reconcile after the Docker events stream reopened');
        },
        onDie: (died) => {
          const { recording } = exits.offer(died);
          if (recording) track(recording, `recording exit of ${died.taskId}`);
        },
      })
    : Promise.resolve(connected());
  await raceTimeout(firstConnection, 5_000);

  try {
    const report = await reconcileNow();
    if (Object.values(report).some((n) => n > 0))
      log(`startup reconcile: ${JSON.stringify(report)}`);
  } catch (error) {
    log(`startup reconcile failed: ${(error as Error).message}`);
  }
  track(adoptPlannedRestarts(context), 'adopting planned restarts');

  const handle = async (message: ReceivedWorkerMessage): Promise<string> => {
    if (message.kind !== 'run') return handleStop(context, message);
    return handleRun(context, message);
  };
  const queueLoop = runQueueLoop({
    queues,
    queueUrl: options.queueUrl,
    signal,
    handle,
    // A run on an idle worker: beat now, even if the run waits for a start slot (runs that
    // start without a message, from a reconcile or a restart timer, wake it in runTask).
    onReceived: (message) => {
      if (message.kind === 'run') waker.wake();
    },
    log,
    onCaughtUp: (at) => {
      queueCaughtUpAt = at;
    },
    // Runs handled at once (each claims its task, then waits for a start slot): twice the start
    // slots keeps them fed. The rest of a backlog waits in the loop, its tasks still SCHEDULED
    // and their messages kept invisible (before, messages outwaited their 60-s visibility
    // timeout: 800-1,500 second copies per 1,000 tasks in bench:throughput); stops go first.
    maxInFlight: 2 * (options.startConcurrency ?? DEFAULT_START_CONCURRENCY),
    ...(options.queueWaitSeconds !== undefined ? { waitSeconds: options.queueWaitSeconds } : {}),
    ...(options.receiveWindowMs !== undefined ? { receiveWindowMs: options.receiveWindowMs } : {}),
    ...(config.deadLetterQueueUrl
      ? {
          deadLetter: (body: string, reason: string) =>
            queues.sendToDeadLetter(body, reason, config.deadLetterQueueUrl),
        }
      : {}),
  });
  waker.starting = false;

  const reconcileLoop = (async () => {
    const interval = options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
    while (!signal.aborted) {
      await sleep(interval, signal);
      if (signal.aborted) break;
      try {
        const report = await reconcileNow(true);
        if (Object.values(report).some((n) => n > 0)) log(`reconcile: ${JSON.stringify(report)}`);
      } catch (error) {
        log(`reconcile failed: ${(error as Error).message}`);
      }
    }
  })();

  const done = (async () => {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    // Planned restarts left now are carried out by the reconciler (or this worker's next start).
    context.restarts.cancelAll();
    context.health.stopAll();
    const settled = Promise.allSettled([
      queueLoop,
      events,
      heartbeat,
      watching,
      fencing,
      reconcileLoop,
      ...background,
      ...(reconciling ? [reconciling] : []),
    ]);
    await raceTimeout(settled, SHUTDOWN_GRACE_MS);
    // Last: the handling above may still have settled containers' output.
    await logShipping?.stop();
    // Give the name up, so a successor (a restart) registers without waiting out the TTL.
    if (options.instanceNonce && !displaced) {
      await raceTimeout(
        workers.release(workerId, options.instanceNonce).catch((error: Error) => {
          log(`giving up the worker's name failed: ${error.message}`);
        }),
        5_000,
      );
    }
  })();

  return {
    workerId,
    context,
    logShipping,
    reconcileNow: () => reconcileNow(),
    stop: async () => {
      controller.abort();
      await done;
    },
    done,
    get displaced() {
      return displaced;
    },
  };
}
