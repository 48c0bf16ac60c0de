// The whole daemon: HTTP registration against a stand-in for the API's POST /v1/workers,
// heartbeats with metrics, re-registration after being marked DOWN, and a clean shutdown
// that leaves containers running.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { createAwsClients } from '../../aws/clients.js';
import type { ControlPlaneConfig } from '../../aws/config.js';
import { Queues } from '../../aws/queues.js';
import { TaskStore } from '../../aws/taskStore.js';
import { WorkerStore } from '../../aws/workerStore.js';
import { PlacementSigner, placementKeyFingerprint } from '../../core/placementSignature.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { Resources } from '../../core/types.js';
import { runWorker } from '../../worker/daemon.js';
import { ensureEmulator, provisionTestControlPlane, stopEmulator } from '../support/aws.js';
import { signedFor, TEST_CONTROL_PLANE_KEY } from '../support/placement.js';
import { removeWorkerContainers, TEST_IMAGE, waitFor } from './support.js';

const TOKEN = 'cube_test_token';

describe('worker daemon', { timeout: 90_000 }, () => {
  let config: ControlPlaneConfig;
  let server: Server;
  let apiUrl: string;
  let workers: WorkerStore;
  let tasks: TaskStore;
  let queues: Queues;
  const registrations: { name: string; capacity: Resources; version: string }[] = [];
  const docker = new Docker();
  const name = `d${randomBytes(3).toString('hex')}`;
  const workerId = `w-${name}`;

  before(async () => {
    await ensureEmulator();
    config = await provisionTestControlPlane('daemon');
    const clients = createAwsClients();
    workers = new WorkerStore(clients.ddb, config);
    tasks = new TaskStore(clients.ddb, config);
    queues = new Queues(clients.sqs, config);
    server = createServer(async (req, res) => {
      if (req.method !== 'POST' || req.url !== '/v1/workers') {
        res.writeHead(404).end();
        return;
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401).end(JSON.stringify({ error: { message: 'bad token' } }));
        return;
      }
      let text = '';
      for await (const chunk of req) text += chunk;
      const body = JSON.parse(text);
      registrations.push(body);
      const id = `w-${body.name}`;
      const queueUrl = await queues.ensureWorkerQueue(id);
      const worker = await workers.register({ id, queueUrl, ...body });
      res.writeHead(201, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          worker,
          queueUrl,
          config: { ...config, controlPlaneKey: TEST_CONTROL_PLANE_KEY },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    server?.close();
    await removeWorkerContainers(docker, workerId);
    await stopEmulator();
  });

  it('registers, beats, re-registers after DOWN, runs a task and shuts down cleanly', {
    timeout: 60_000,
  }, async () => {
    const controller = new AbortController();
    const logs: string[] = [];
    const running = runWorker(
      {
        apiUrl,
        token: TOKEN,
        name,
        labels: { zone: 'a' },
        capacity: { cpuMillis: 1000, memoryBytes: 2 * 1024 ** 3 },
        docker,
        heartbeatIntervalMs: 300,
        log: (line) => {
          logs.push(line);
          if (process.env.CUBE_TEST_VERBOSE) console.error(line);
        },
      },
      controller.signal,
    );
    try {
      const worker = await waitFor(
        () => workers.get(workerId),
        (w) => w?.metrics !== undefined,
        'a heartbeat with metrics',
      );
      assert.equal(registrations[0]?.name, name);
      assert.equal(worker!.capacity.cpuMillis, 1000);
      assert.equal(worker!.capacity.memoryBytes, 2 * 1024 ** 3);
      assert.ok(worker!.capacity.diskBytes > 0, 'disk detected');
      assert.deepEqual(worker!.labels, { zone: 'a' });
      const m = worker!.metrics!;
      assert.ok(m.cpuCores >= 1);
      assert.ok(m.cpuUsage >= 0 && m.cpuUsage <= 1);
      assert.ok(m.memTotalBytes > 0 && m.memAvailableBytes > 0);
      assert.ok(m.diskTotalBytes > 0);
      assert.equal(m.runningTasks, 0);

      // The control plane gives up on it: the next refused heartbeat registers again.
      await workers.setState(workerId, 'DOWN');
      await waitFor(
        () => workers.get(workerId),
        (w) => w?.state === 'READY',
        'READY again',
      );
      assert.ok(registrations.length >= 2);

      const { task, event } = newTask(
        `dt-${randomBytes(3).toString('hex')}`,
        {
          name: 'sleeper',
          image: TEST_IMAGE,
          command: ['sleep', '300'],
          env: {},
          resources: { cpuMillis: 100, memoryBytes: 32 * 1024 ** 2, diskBytes: 0 },
          ports: [],
          restart: { mode: 'never' },
          stopSignal: 'SIGTERM',
          stopTimeoutSeconds: 1,
          labels: {},
          network: 'none',
        },
        'test',
      );
      await tasks.create(task, event);
      await tasks.transition(task, {
        to: 'SCHEDULED',
        by: 'scheduler',
        patch: signedFor(task, workerId),
      });
      await queues.sendToWorker((await workers.require(workerId)).queueUrl, {
        kind: 'run',
        taskId: task.id,
        attempt: 1,
      });
      await waitFor(
        async () => (await tasks.require(task.id)).state,
        (s) => s === 'RUNNING',
        'RUNNING',
      );
      await waitFor(
        () => workers.get(workerId),
        (w) => w?.metrics?.runningTasks === 1,
        'runningTasks = 1 in metrics',
      );
    } finally {
      controller.abort();
      await running;
    }
    const left = await docker.listContainers({
      filters: { label: [`cube.worker=${workerId}`] },
    });
    assert.equal(left.length, 1, 'the container outlives the worker process');
    assert.ok(logs.some((l) => l.includes('registering again')));
  });

  it('refuses an answer naming another key than the pinned one, before taking any work', {
    timeout: 30_000,
  }, async () => {
    // The stand-in answers with its own key whatever the worker pinned: a compromised API.
    const pinned = new PlacementSigner('the-key-this-host-pinned-0123456789abcdef').publicKey;
    const before = registrations.length;
    const logs: string[] = [];
    await assert.rejects(
      runWorker(
        {
          apiUrl,
          token: TOKEN,
          name: `${name}-pinned`,
          labels: {},
          capacity: { cpuMillis: 1, memoryBytes: 1, diskBytes: 1 },
          docker,
          controlPlaneKey: pinned,
          log: (line) => logs.push(line),
        },
        new AbortController().signal,
      ),
      (error: Error) =>
        error.message.includes(placementKeyFingerprint(TEST_CONTROL_PLANE_KEY)) &&
        error.message.includes(placementKeyFingerprint(pinned)) &&
        /refuses the control plane's answer: placement key mismatch/.test(error.message),
    );
    // The worker told the API what it pinned, and never got as far as its queue loop.
    assert.equal(
      (registrations[before] as unknown as { controlPlaneKey?: string }).controlPlaneKey,
      pinned,
    );
    assert.ok(!logs.some((l) => / registered as /.test(l)), logs.join('\n'));
  });

  it('gives up at once when the API refuses the token', { timeout: 10_000 }, async () => {
    await assert.rejects(
      runWorker(
        {
          apiUrl,
          token: 'wrong',
          name,
          labels: {},
          capacity: { cpuMillis: 1, memoryBytes: 1, diskBytes: 1 },
          docker,
        },
        new AbortController().signal,
      ),
      /HTTP 401/,
    );
  });
});
