// A namespaced control plane on the emulator with real stores, for the scheduler's
// integration tests: no HTTP, no worker process, just the tables and queues.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createAwsClients } from '../../aws/clients.js';
import { EventStore } from '../../aws/eventStore.js';
import { Queues } from '../../aws/queues.js';
import { ServiceStore } from '../../aws/serviceStore.js';
import { TaskStore } from '../../aws/taskStore.js';
import { TokenStore } from '../../aws/tokenStore.js';
import { WorkerStore } from '../../aws/workerStore.js';
import { emulatorEnv, freePort, PROJECT_ROOT } from '../../cli/local/emulator.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { Resources, TaskRecord, TaskSpec, WorkerRecord } from '../../core/types.js';
import type { Deps } from '../../functions/shared/deps.js';
import { task } from '../core/schedulerFixtures.js';
import { ensureEmulator, provisionTestControlPlane } from '../support/aws.js';
import { TEST_SIGNER } from '../support/placement.js';

const ATOMIC_MOTO = fileURLToPath(new URL('../../scripts/moto_server.py', import.meta.url));

async function isMoto(endpoint: string): Promise<boolean> {
  try {
    return (await fetch(`${endpoint}/moto-api/`)).ok;
  } catch {
    return false;
  }
}

/**
 * Points the SDK at an emulator whose DynamoDB serialises writes as DynamoDB does. moto's
 * does not (see scripts/moto_server.py), so against moto a private, locked moto is started for the
 * test process; any other endpoint (LocalStack's DynamoDB Local) is used as it is.
 */
export async function ensureAtomicEmulator(): Promise<() => Promise<void>> {
  const given = process.env.AWS_ENDPOINT_URL;
  if (given && !(await isMoto(given))) {
    await ensureEmulator();
    return async () => {};
  }
  const port = await freePort();
  const child = spawn(
    `${PROJECT_ROOT}/.venv/bin/python`,
    [ATOMIC_MOTO, '-H', '127.0.0.1', '-p', String(port)],
    { stdio: 'ignore' },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await isMoto(endpoint))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error('locked moto did not start');
    await new Promise((r) => setTimeout(r, 150));
  }
  Object.assign(process.env, emulatorEnv(endpoint));
  return async () => {
    child.kill('SIGTERM');
  };
}

/** Stores and queues of a fresh namespace on the emulator the environment points at. */
export async function schedulerDeps(label: string): Promise<Deps> {
  if (!process.env.AWS_ENDPOINT_URL) await ensureEmulator();
  // No heartbeats run in these tests: a long TTL keeps the registered workers READY however
  // slow a loaded machine makes the test.
  const config = { ...(await provisionTestControlPlane(label)), heartbeatTtlMs: 600_000 };
  const { ddb, sqs } = createAwsClients();
  return {
    config,
    tasks: new TaskStore(ddb, config),
    workers: new WorkerStore(ddb, config),
    tokens: new TokenStore(ddb, config),
    queues: new Queues(sqs, config),
    services: new ServiceStore(ddb, config),
    placementSigner: async () => TEST_SIGNER,
    events: new EventStore(ddb, config),
  };
}

export async function addWorker(
  deps: Deps,
  name: string,
  capacity: Resources,
  labels: Record<string, string> = {},
): Promise<WorkerRecord> {
  const id = `w-${name}`;
  const queueUrl = await deps.queues.ensureWorkerQueue(id);
  return deps.workers.register({ id, name, labels, capacity, queueUrl });
}

let seq = 0;

export async function addPendingTask(
  deps: Deps,
  over: Partial<TaskSpec> = {},
): Promise<TaskRecord> {
  const id = `t${Date.now().toString(36)}${(seq++).toString(36)}`;
  const { task: record, event } = newTask(id, task(over), 'test');
  await deps.tasks.create(record, event);
  return record;
}
