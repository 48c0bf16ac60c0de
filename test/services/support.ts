// An in-process control plane (the handlers `cube up` runs: API, scheduler queue consumer
// that also runs the service controller, reconciler timer) on a fresh namespace of the
// emulator, with in-process worker agents on the real Docker engine.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { createAwsClients } from '../../aws/clients.js';
import { Queues } from '../../aws/queues.js';
import { WorkerStore } from '../../aws/workerStore.js';
import type { ServiceRecord } from '../../core/services/types.js';
import {
  type LocalControlPlane,
  startLocalControlPlane,
} from '../../functions/local/controlPlane.js';
import { type Deps, getDeps } from '../../functions/shared/deps.js';
import { startWorkerAgent, type WorkerAgent } from '../../worker/agent.js';
import { LABEL_WORKER } from '../../worker/engine/containerOptions.js';
import { ensureEmulator, uniquePrefix } from '../support/aws.js';
import { apiCaller, eventually as eventuallyWithin } from '../support/cli.js';
import { TEST_IMAGE } from '../support/docker.js';

export interface ServiceCluster {
  prefix: string;
  plane: LocalControlPlane;
  deps: Deps;
  docker: Docker;
  workerIds: string[];
  /**
   * The worker's agent ends without touching its containers, as a killed process would: no
   * more heartbeats, nothing taken from its queue. Its containers are removed afterwards by
   * `removeOrphans`, as they would go with the host.
   */
  killWorker(index: number): Promise<void>;
  removeOrphans(index: number): Promise<void>;
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  /** Running (or, with `all`, any) containers of a service on this cluster's workers. */
  containers(service: string, all?: boolean): Promise<Docker.ContainerInfo[]>;
  stop(): Promise<void>;
}

export async function startServiceCluster(label: string, workers = 2): Promise<ServiceCluster> {
  await ensureEmulator();
  const prefix = uniquePrefix(label);
  // getDeps() reads the environment once per process: one cluster per test file.
  Object.assign(process.env, {
    CUBE_PREFIX: prefix,
    CUBE_SERVICE_POLL_MS: '500',
    CUBE_HEARTBEAT_INTERVAL_MS: '1000',
    CUBE_HEARTBEAT_TTL_MS: '15000',
    CUBE_RESTART_DELAY_MS: '200',
    CUBE_RESTART_MAX_DELAY_MS: '1000',
  });
  const plane = await startLocalControlPlane({ port: 0, reconcileIntervalMs: 2_000 });
  const deps = getDeps();
  const clients = createAwsClients();
  const docker = new Docker();
  const store = new WorkerStore(clients.ddb, deps.config);
  const queues = new Queues(clients.sqs, deps.config);
  const agents: WorkerAgent[] = [];
  const workerIds: string[] = [];
  for (let i = 0; i < workers; i++) {
    const workerId = `w-${label}-${randomBytes(3).toString('hex')}`;
    const queueUrl = await queues.ensureWorkerQueue(workerId);
    const registration = {
      id: workerId,
      name: workerId,
      labels: { zone: `z${i}` },
      capacity: { cpuMillis: 2000, memoryBytes: 2 * 1024 ** 3, diskBytes: 10 * 1024 ** 3 },
      queueUrl,
    };
    await store.register(registration);
    agents.push(
      await startWorkerAgent({
        workerId,
        queueUrl,
        config: {
          ...deps.config,
          schedulingQueueUrl: plane.env.CUBE_SCHEDULING_QUEUE_URL,
          deadLetterQueueUrl: await queues.workerDeadLetterQueueUrl(),
        },
        docker,
        clients,
        log: (line) => {
          if (process.env.CUBE_TEST_VERBOSE) console.error(`[${workerId}] ${line}`);
        },
        queueWaitSeconds: 1,
        stopTimeoutSeconds: 1,
        reconcileIntervalMs: 60_000,
        reregister: async () => {
          await store.register(registration);
        },
        // The in-process control plane's own key (what registration would return).
        controlPlaneKey: (await deps.placementSigner()).publicKey,
      }),
    );
    workerIds.push(workerId);
  }
  const api = apiCaller(plane.apiUrl, plane.adminToken);
  return {
    prefix,
    plane,
    deps,
    docker,
    workerIds,
    killWorker: async (index) => {
      await agents[index]!.stop();
    },
    removeOrphans: async (index) => {
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_WORKER}=${workerIds[index]}`] },
      });
      await Promise.all(
        left.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
    },
    api,
    // Only this cluster's workers: other test runs share the engine and may name a service alike.
    containers: async (service, all = false) =>
      (
        await Promise.all(
          workerIds.map((id) =>
            docker.listContainers({
              all,
              filters: {
                label: [`cube.service=${service}`, `${LABEL_WORKER}=${id}`],
                ...(all ? {} : { status: ['running'] }),
              },
            }),
          ),
        )
      ).flat(),
    stop: async () => {
      await Promise.all(agents.map((a) => a.stop().catch(() => {})));
      await plane.stop();
      for (const id of workerIds) {
        const left = await docker.listContainers({
          all: true,
          filters: { label: [`${LABEL_WORKER}=${id}`] },
        });
        await Promise.all(
          left.map((c) =>
            docker
              .getContainer(c.Id)
              .remove({ force: true })
              .catch(() => {}),
          ),
        );
      }
    },
  };
}

/** busybox httpd in its own network namespace, healthy when it answers on 8080. */
export function webSpec(
  replicas: number,
  options: { version?: string; probePort?: number; update?: Record<string, unknown> } = {},
) {
  return {
    replicas,
    task: {
      image: TEST_IMAGE,
      command: ['sh', '-c', 'echo ok > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'],
      env: { VERSION: options.version ?? '1' },
      network: 'none',
      cpu: 0.05,
      memory: '32m',
      stopTimeout: 2,
      healthCheck: {
        command: [
          'wget',
          '-q',
          '-O',
          '/dev/null',
          `http://127.0.0.1:${options.probePort ?? 8080}/`,
        ],
        interval: 0.5,
        timeout: 2,
        retries: 2,
      },
    },
    update: { minHealthyTime: 1, healthyDeadline: 30, progressDeadline: 90, ...options.update },
  };
}

export type ServiceBody = {
  service: ServiceRecord & {
    counts: {
      desired: number;
      live: number;
      running: number;
      healthy: number;
      updated: number;
      stopping: number;
    };
    replicaTasks: {
      slot: number;
      taskId: string;
      revision: number;
      state: string;
      healthy: boolean;
    }[];
  };
  events: { kind: string; reason: string; revision: number }[];
};

/** `eventually` from test/support/cli.ts with a minute to wait (services take longer). */
export const eventually = <T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> => eventuallyWithin(what, check, timeoutMs);
