// Shared set-up of the worker's integration tests: a namespaced control plane on the
// emulator, a worker registered through the stores (no HTTP), a running agent, real Docker.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { createAwsClients } from '../../aws/clients.js';
import type { ControlPlaneConfig } from '../../aws/config.js';
import { Queues } from '../../aws/queues.js';
import { TaskStore } from '../../aws/taskStore.js';
import { WorkerStore } from '../../aws/workerStore.js';
import type { WorkerMessage } from '../../core/messages.js';
import type { RestartSettings } from '../../core/restartPolicy.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord, TaskSpec } from '../../core/types.js';
import { startWorkerAgent, type WorkerAgent, type WorkerAgentOptions } from '../../worker/agent.js';
import { LABEL_TASK_ID, LABEL_WORKER } from '../../worker/engine/containerOptions.js';
import { ensureEmulator, provisionTestControlPlane, stopEmulator } from '../support/aws.js';
import { signedFor, TEST_CONTROL_PLANE_KEY } from '../support/placement.js';

export const TEST_IMAGE = 'cube-test/busybox:latest';

export interface WorkerHarness {
  config: ControlPlaneConfig;
  clients: ReturnType<typeof createAwsClients>;
  workerId: string;
  queueUrl: string;
  tasks: TaskStore;
  workers: WorkerStore;
  queues: Queues;
  docker: Docker;
  agent: WorkerAgent;
  logs: string[];
  /** A task placed on this worker (PENDING -> SCHEDULED with its reservation). */
  scheduleTask(spec?: Partial<TaskSpec>): Promise<TaskRecord>;
  send(message: WorkerMessage | string): Promise<void>;
  containersOf(taskId: string): Promise<Docker.ContainerInfo[]>;
  close(): Promise<void>;
}

export async function startHarness(
  label: string,
  /** Or made from the worker's id (a runtime of the test's own labels containers with it). */
  agentOptions:
    | Partial<WorkerAgentOptions>
    | ((workerId: string) => Partial<WorkerAgentOptions>) = {},
  /** Restart backoff; default quick (100 ms, at most 400 ms). */
  restart: Partial<RestartSettings> = {},
): Promise<WorkerHarness> {
  await ensureEmulator();
  const config = await provisionTestControlPlane(label);
  const clients = createAwsClients();
  const tasks = new TaskStore(clients.ddb, config);
  const workers = new WorkerStore(clients.ddb, config);
  const queues = new Queues(clients.sqs, config);
  const docker = new Docker();
  const workerId = `w-${label}-${randomBytes(3).toString('hex')}`;
  const queueUrl = await queues.ensureWorkerQueue(workerId);
  const registration = {
    id: workerId,
    name: workerId,
    labels: {},
    capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, diskBytes: 10 * 1024 ** 3 },
    queueUrl,
  };
  await workers.register(registration);
  const logs: string[] = [];
  const log = (line: string) => {
    logs.push(line);
    if (process.env.CUBE_TEST_VERBOSE) console.error(`[${workerId}] ${line}`);
  };
  const agent = await startWorkerAgent({
    workerId,
    queueUrl,
    // Quick restarts, so policies play out within a test's time.
    config: {
      ...config,
      restart: { ...config.restart, initialDelayMs: 100, maxDelayMs: 400, ...restart },
      deadLetterQueueUrl: await queues.workerDeadLetterQueueUrl(),
    },
    docker,
    clients,
    log,
    queueWaitSeconds: 1,
    stopTimeoutSeconds: 1,
    controlPlaneKey: TEST_CONTROL_PLANE_KEY,
    // Health checks probe busybox httpd on host networking; privileged and host mounts stay off.
    hostPolicy: { allowPrivileged: false, allowHostMounts: false, allowHostNetwork: true },
    reconcileIntervalMs: 60_000,
    // What the daemon does over HTTP when its heartbeat is refused.
    reregister: async () => {
      await workers.register(registration);
    },
    ...(typeof agentOptions === 'function' ? agentOptions(workerId) : agentOptions),
  });

  let counter = 0;
  const scheduleTask = async (spec: Partial<TaskSpec> = {}) => {
    const id = `${label}-${randomBytes(4).toString('hex')}-${counter++}`;
    const full: TaskSpec = {
      name: id,
      image: TEST_IMAGE,
      command: ['sleep', '300'],
      env: {},
      resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, diskBytes: 0 },
      ports: [],
      restart: { mode: 'never' },
      stopSignal: 'SIGTERM',
      stopTimeoutSeconds: 1,
      labels: {},
      network: 'none',
      ...spec,
    };
    const { task, event } = newTask(id, full, 'test');
    await tasks.create(task, event);
    return tasks.transition(task, {
      to: 'SCHEDULED',
      by: 'scheduler',
      patch: signedFor(task, workerId),
    });
  };

  return {
    config,
    clients,
    workerId,
    queueUrl,
    tasks,
    workers,
    queues,
    docker,
    agent,
    logs,
    scheduleTask,
    send: async (message) => {
      if (typeof message !== 'string') return queues.sendToWorker(queueUrl, message);
      const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
      await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message }));
    },
    containersOf: (taskId) =>
      docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_TASK_ID}=${taskId}`, `${LABEL_WORKER}=${workerId}`] },
      }),
    close: async () => {
      await agent.stop();
      await removeWorkerContainers(docker, workerId);
      await stopEmulator();
    },
  };
}

export async function removeWorkerContainers(docker: Docker, workerId: string): Promise<void> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_WORKER}=${workerId}`] },
  });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
}

/** Polls `read` until `done` holds for its value; fails with the last value seen. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const stateOf = (h: WorkerHarness, taskId: string) => async () =>
  (await h.tasks.require(taskId)).state;
