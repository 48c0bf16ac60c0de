// A worker beats before it waits on its engine. Start-up waits on the engine three times (the
// events stream, the first reconcile's listing, `docker info` for the disk figures); on an
// engine busy starting other containers each took seconds, and until the first beat the
// control plane judges the worker by its registration time: bench:throughput saw a worker
// taken for lost 15 s after registering, its 30 tasks rescheduled. Here the engine accepts
// connections and never answers, so only a beat that does not wait for it gets through; and
// while start-up waits, the worker beats at the busy interval (its queue is not received yet).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { createAwsClients } from '../../aws/clients.js';
import type { ControlPlaneConfig } from '../../aws/config.js';
import { Queues } from '../../aws/queues.js';
import { WorkerStore } from '../../aws/workerStore.js';
import { startWorkerAgent } from '../../worker/agent.js';
import { ensureEmulator, provisionTestControlPlane, stopEmulator } from '../support/aws.js';
import { TEST_CONTROL_PLANE_KEY } from '../support/placement.js';
import { waitFor } from './support.js';

const held = new Set<Socket>();
const silentEngine = createServer((socket) => {
  held.add(socket);
  socket.on('close', () => held.delete(socket));
  socket.on('error', () => {});
});
let config: ControlPlaneConfig;

before(async () => {
  await new Promise<void>((resolve) => silentEngine.listen(0, '127.0.0.1', resolve));
  await ensureEmulator();
  config = await provisionTestControlPlane('startbeat');
});

/** The engine goes away: connections refused from now on, the open ones cut. */
const engineGone = async () => {
  if (!silentEngine.listening) return;
  const closed = new Promise<void>((resolve) => silentEngine.close(() => resolve()));
  for (const socket of held) socket.destroy();
  await closed;
};

after(async () => {
  await engineGone();
  await stopEmulator();
});

test('the first heartbeat does not wait for an engine that does not answer', async () => {
  const clients = createAwsClients();
  const workers = new WorkerStore(clients.ddb, config);
  const queues = new Queues(clients.sqs, config);
  const workerId = `w-startbeat-${randomBytes(3).toString('hex')}`;
  const queueUrl = await queues.ensureWorkerQueue(workerId);
  await workers.register({
    id: workerId,
    name: workerId,
    labels: {},
    capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, diskBytes: 0 },
    queueUrl,
  });
  const registered = await workers.get(workerId);
  const port = (silentEngine.address() as { port: number }).port;
  const logs: string[] = [];
  const starting = startWorkerAgent({
    workerId,
    queueUrl,
    config,
    docker: new Docker({ host: '127.0.0.1', port }),
    clients,
    log: (line) => logs.push(line),
    queueWaitSeconds: 1,
    controlPlaneKey: TEST_CONTROL_PLANE_KEY,
  });

  const beaten = await waitFor(
    () => workers.get(workerId),
    (w) => w?.metrics !== undefined && w.heartbeatAt > registered!.heartbeatAt,
    'a heartbeat while the engine has not answered',
  );
  assert.equal(beaten?.state, 'READY');
  assert.equal(held.size > 0, true, 'the worker is still waiting on the engine');
  // Nothing from the engine, nothing counted: the beat says 0 running, not a guess.
  assert.equal(beaten?.metrics?.runningTasks, 0);
  // Starting, it does not yet receive its queue, so it keeps the busy interval, not the idle
  // minute: a placement on it waits unreceived, and only its beats show it alive meanwhile
  // (the reconciler takes a worker that neither beats nor picks up a placement for gone).
  assert.ok(beaten!.heartbeatIntervalMs! < 60_000, `declared ${beaten!.heartbeatIntervalMs} ms`);
  const again = await waitFor(
    () => workers.get(workerId),
    (w) => w !== undefined && w.heartbeatAt > beaten!.heartbeatAt,
    'a second heartbeat while still starting',
  );
  assert.equal(held.size > 0, true, 'the worker is still waiting on the engine');
  assert.ok(again!.heartbeatIntervalMs! < 60_000, `declared ${again!.heartbeatIntervalMs} ms`);

  // The engine goes away: start-up gives up on it and the agent can be stopped.
  await engineGone();
  const agent = await starting;
  await agent.stop();
  assert.ok(
    logs.some((line) => line.startsWith('startup reconcile failed')),
    logs.join('\n'),
  );
});
