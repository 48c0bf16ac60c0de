// npm run bench:history [-- --sizes 1000,100000] [--runs 3] [--json]
// What a long history costs: with N finished tasks written straight to the tasks table
// (BatchWrite), the time, DynamoDB requests and items read of `cube ps` (the active listing,
// and the first page of --all), `cube inspect <prefix>`, a reconcile sweep and a worker's local
// reconcile, for each N. Runs on a private moto (the shared one is left alone). Prints
// figures; asserts nothing.
//
// Items read (Query/Scan ScannedCount, 1 per GetItem that found one) are what DynamoDB bills
// and what its latency follows. moto's own Query walks every item of the table whatever the
// key; the project's emulator (scripts/moto_server.py) reads only the queried partition, as
// DynamoDB does, so time follows items read here too.
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients } from '../../aws/clients.js';
import { EventStore } from '../../aws/eventStore.js';
import { requestCounts } from '../../aws/requestCounter.js';
import { ServiceStore } from '../../aws/serviceStore.js';
import { findTasksByPrefix, listTaskPage } from '../../aws/taskPages.js';
import { TaskStore } from '../../aws/taskStore.js';
import { WorkerStore } from '../../aws/workerStore.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskState, WorkerRecord } from '../../core/types.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import type { Deps } from '../../functions/shared/deps.js';
import { startWorkerAgent } from '../../worker/agent.js';
import { SimulatedRuntime } from '../../worker/engine/simulatedRuntime.js';
import { metrics, task as taskSpec } from '../core/schedulerFixtures.js';
import { addWorker, ensureAtomicEmulator, schedulerDeps } from '../scheduler/support.js';
import { round } from './stats.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const sizes = option('--sizes', '1000,100000').split(',').map(Number);
const runs = Number(option('--runs', '3'));
const progress = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

// Counted in this process: requests by the SDK middleware, items read by ours.
process.env.CUBE_REQUEST_COUNT_FILE ??= `/tmp/cube-bench-history-${process.pid}`;
const clients = createAwsClients();
let itemsRead = 0;
clients.ddb.middlewareStack.add(
  (next) => async (input) => {
    const out = await next(input);
    const output = out.output as { ScannedCount?: number; Items?: unknown[]; Item?: unknown };
    itemsRead += output.ScannedCount ?? output.Items?.length ?? (output.Item ? 1 : 0);
    return out;
  },
  { step: 'initialize', name: 'benchItemsRead' },
);
const dynamoRequests = () =>
  Object.entries(requestCounts())
    .filter(([key]) => key.startsWith('dynamodb:'))
    .reduce((sum, [, n]) => sum + n, 0);

interface Figure {
  ms: number;
  requests: number;
  items: number;
}

async function measure(work: () => Promise<unknown>): Promise<Figure> {
  const figures: Figure[] = [];
  for (let i = 0; i < runs; i++) {
    const requests = dynamoRequests();
    const items = itemsRead;
    const started = performance.now();
    await work();
    figures.push({
      ms: performance.now() - started,
      requests: dynamoRequests() - requests,
      items: itemsRead - items,
    });
  }
  figures.sort((a, b) => a.ms - b.ms);
  return figures[Math.floor(figures.length / 2)]!;
}

const ACTIVE: TaskState[] = ['PENDING', 'SCHEDULED', 'STARTING', 'RUNNING', 'STOPPING'];
const newId = () => `t${randomBytes(6).toString('hex')}`;

async function oneSize(size: number) {
  const given = await schedulerDeps(`hist${size}`);
  const config = given.config;
  // The stores on this process's counted client, so every item they read is counted.
  const deps: Deps = {
    ...given,
    tasks: new TaskStore(clients.ddb, config),
    workers: new WorkerStore(clients.ddb, config),
    services: new ServiceStore(clients.ddb, config),
    events: new EventStore(clients.ddb, config),
  };
  const capacity = { cpuMillis: 64_000, memoryBytes: 256 * 1024 ** 3, diskBytes: 1024 ** 4 };
  const workers: WorkerRecord[] = [];
  for (let i = 0; i < 10; i++) workers.push(await addWorker(deps, `w${i}`, capacity));
  const write = async (items: Record<string, unknown>[]) => {
    for (let i = 0; i < items.length; i += 25) {
      await clients.ddb.send(
        new BatchWriteCommand({
          RequestItems: {
            [config.tasksTable]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
    }
  };
  const item = (state: TaskState, workerId: string, ageMs: number) => {
    const id = newId();
    const { task } = newTask(id, taskSpec({}), 'bench');
    const at = new Date(Date.now() - ageMs).toISOString();
    const finished = ['COMPLETED', 'FAILED', 'STOPPED'].includes(state);
    return {
      ...task,
      state,
      workerId,
      createdAt: at,
      updatedAt: at,
      ...(finished
        ? { finishedAt: at, purgeAt: Math.floor(Date.now() / 1000) + 6 * 86_400 }
        : { startedAt: at }),
      idPrefix: id.slice(0, 3),
    };
  };
  // 20 live tasks on the other workers: what `cube ps` and the sweeps are about.
  await write(Array.from({ length: 20 }, (_, i) => item('RUNNING', workers[1 + (i % 9)]!.id, i)));
  const started = performance.now();
  const batch = 2_500;
  for (let done = 0; done < size; done += batch) {
    const n = Math.min(batch, size - done);
    const items = Array.from({ length: n }, (_, i) =>
      item(
        (['COMPLETED', 'FAILED', 'STOPPED'] as const)[i % 3]!,
        workers[i % workers.length]!.id,
        60_000 + done + i,
      ),
    );
    // Four BatchWrites at a time.
    const quarter = Math.ceil(n / 4);
    await Promise.all([0, 1, 2, 3].map((q) => write(items.slice(q * quarter, (q + 1) * quarter))));
    if ((done + n) % 20_000 === 0 || done + n === size) {
      progress(`  ${size}: ${done + n} finished tasks written`);
    }
  }
  const writeS = (performance.now() - started) / 1000;
  const known = (await listTaskPage(clients.ddb, config, { states: ['COMPLETED'], limit: 1 }))
    .tasks[0]!;

  const agent = await startWorkerAgent({
    workerId: workers[0]!.id,
    queueUrl: workers[0]!.queueUrl,
    config: { ...config, heartbeatIntervalMs: 600_000, heartbeatIdleIntervalMs: 600_000 },
    runtime: new SimulatedRuntime(workers[0]!.id),
    sampler: { sample: async () => metrics() },
    clients,
    controlPlaneKey: (await deps.placementSigner()).publicKey,
    heartbeatIntervalMs: 600_000,
    reconcileIntervalMs: 600_000,
    queueWaitSeconds: 20,
  });
  try {
    const figures = {
      psActive: await measure(async () => {
        let nextToken: string | undefined;
        do {
          const page = await listTaskPage(clients.ddb, config, {
            states: ACTIVE,
            limit: 500,
            ...(nextToken ? { nextToken } : {}),
          });
          nextToken = page.nextToken;
        } while (nextToken);
      }),
      psAllFirstPage: await measure(() => listTaskPage(clients.ddb, config, { limit: 500 })),
      inspectPrefix: await measure(async () => {
        const [match] = await findTasksByPrefix(clients.ddb, config, known.id.slice(0, 6), 2);
        await deps.tasks.get(match!.id);
        await deps.tasks.events(match!.id);
      }),
      reconcileSweep: await measure(() => reconcile(deps, { mayMarkDown: false })),
      localReconcile: await measure(() => agent.reconcileNow()),
    };
    return { size, writeS: round(writeS, 1), figures };
  } finally {
    await agent.stop();
  }
}

const stopEmulator = await ensureAtomicEmulator();
try {
  const results = [];
  for (const size of sizes) {
    progress(`${size} finished tasks: writing`);
    results.push(await oneSize(size));
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    const base = results[0]!;
    for (const result of results) {
      process.stdout.write(
        `\n${result.size.toLocaleString('en')} finished tasks (written in ${result.writeS} s), median of ${runs}:\n`,
      );
      for (const [name, f] of Object.entries(result.figures)) {
        const b = base.figures[name as keyof typeof base.figures];
        const ratio = (a: number, z: number) =>
          z === 0 ? (a === 0 ? '1.00' : 'inf') : (a / z).toFixed(2);
        process.stdout.write(
          `  ${name.padEnd(15)} ${round(f.ms, 1).toString().padStart(9)} ms  ${String(f.requests).padStart(4)} requests  ${String(f.items).padStart(6)} items read` +
            (result === base
              ? '\n'
              : `   x${ratio(f.ms, b.ms)} time, x${ratio(f.requests, b.requests)} requests, x${ratio(f.items, b.items)} items\n`),
        );
      }
    }
  }
} finally {
  await stopEmulator();
}
process.exit(0);
