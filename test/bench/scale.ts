// npm run bench:scale [-- --fleet 100,500,1000,2000] [--tasks 30] [--full-agents] [--json]
// A simulated fleet (no Docker: SimulatedRuntime) in this one process, sharing AWS clients,
// against the real scheduler and reconciler handlers driven in-process on the project's
// emulator. By default each simulated worker is registered and runs the real adaptive
// heartbeat loop, and placed tasks stay SCHEDULED; `--full-agents` runs the whole worker agent
// per worker (queue long-poll, runs and stops) — moto keeps a thread per waiting long poll
// and here could not serve ~1,000 of them alongside the scheduler. As the fleet grows it prints the scheduler's batch latency and
// requests per placement, with the worker-snapshot cache off (a Scan of the whole workers
// table per batch, as before) and on, plus a reconciler sweep and registration cost.
// Prints figures; asserts nothing. moto is far slower than DynamoDB: compare, don't quote.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { createAwsClients } from '../../aws/clients.js';
import { controlPlaneConfig } from '../../aws/config.js';
import { provisionControlPlane } from '../../aws/provision.js';
import { countRequests, requestCounts } from '../../aws/requestCounter.js';
import { TaskStore } from '../../aws/taskStore.js';
import { WorkerStore } from '../../aws/workerStore.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';
import { lambdaContext } from '../../functions/local/lambdaContext.js';
import { runSqsEventSource, type SqsHandler } from '../../functions/local/sqsEventSource.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import { handler as schedulerHandler } from '../../functions/scheduler/handler.js';
import { getDeps } from '../../functions/shared/deps.js';
import { startWorkerAgent } from '../../worker/agent.js';
import { runHeartbeat } from '../../worker/control/heartbeat.js';
import { SimulatedRuntime } from '../../worker/engine/simulatedRuntime.js';
import { metrics, task as taskSpec } from '../core/schedulerFixtures.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually } from '../support/cli.js';
import { add, type Counts, total } from './requestCounts.js';
import { percentile, round } from './stats.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const fleetSteps = option('--fleet', '100,500,1000,2000').split(',').map(Number);
const tasksPerRun = Number(option('--tasks', '30'));
const fullAgents = args.includes('--full-agents');
const progress = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bounded concurrency: moto answers a few hundred requests a second. */
async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size)
    await Promise.all(items.slice(i, i + size).map(work));
}

const countsNow = (): Counts => ({ ...requestCounts() });
const since = (before: Counts, prefix: string): Counts =>
  Object.fromEntries(
    Object.entries(add(countsNow(), before, -1)).filter(([k, n]) => k.startsWith(prefix) && n > 0),
  );

async function main() {
  delete process.env.CUBE_REQUEST_COUNT_FILE;
  // Every full agent holds a long poll open; the emulator serves each from its thread pool.
  if (fullAgents) {
    process.env.CUBE_EMULATOR_THREADS ??= String(Math.max(...fleetSteps) + 256);
  }
  await ensureEmulator();
  // The bench's own polling goes through clients made before counting is switched on.
  const uncounted = createAwsClients();
  process.env.CUBE_PREFIX = `t${randomBytes(3).toString('hex')}-scale`;
  process.env.CUBE_REQUEST_COUNT_FILE = join(mkdtempSync(join(tmpdir(), 'cube-scale-')), 'n');
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const base = controlPlaneConfig();
  const { schedulingQueueUrl } = await provisionControlPlane(
    new DynamoDBClient({ region }),
    uncounted.sqs,
    base,
  );
  process.env.CUBE_SCHEDULING_QUEUE_URL = schedulingQueueUrl;
  const deps = getDeps();
  const pollTasks = new TaskStore(uncounted.ddb, base);

  // The fleet's clients: shared by every simulated worker, with room for 2,000 long polls.
  const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
  const rawDdb = new DynamoDBClient({ region, requestHandler: { httpAgent: agent } });
  const sqs = new SQSClient({ region, requestHandler: { httpAgent: agent } });
  countRequests(rawDdb, 'worker.dynamodb');
  countRequests(sqs, 'worker.sqs');
  const fleetClients = {
    ddb: DynamoDBDocumentClient.from(rawDdb, { marshallOptions: { removeUndefinedValues: true } }),
    sqs,
  };

  // The scheduler, as Lambda's event source would run it, timed per batch.
  const batchMs: number[] = [];
  // A long deadline: a slow batch is what we measure, not a reason for middy to abort it.
  const timed: SqsHandler = async (event: SQSEvent) => {
    const started = performance.now();
    try {
      return await (schedulerHandler as unknown as SqsHandler)(
        event,
        lambdaContext('cube-scheduler', 900_000),
      );
    } finally {
      batchMs.push(performance.now() - started);
    }
  };
  const stopAll = new AbortController();
  const scheduler = runSqsEventSource({
    queues: deps.queues,
    queueUrl: schedulingQueueUrl,
    handler: timed,
    functionName: 'cube-scheduler',
    signal: stopAll.signal,
  });

  const agents: { stop(): Promise<void> }[] = [];
  const fleetWorkers = new WorkerStore(fleetClients.ddb, base);
  const results: object[] = [];
  try {
    for (const fleet of fleetSteps) {
      // Register and start the new workers.
      const before = countsNow();
      const registerStarted = performance.now();
      const fresh = Array.from({ length: fleet - agents.length }, (_, i) => agents.length + i);
      const started: { stop(): Promise<void> }[] = [];
      await inBatches(fresh, 25, async (n) => {
        const id = `sim${String(n).padStart(5, '0')}`;
        const queueUrl = await deps.queues.ensureWorkerQueue(id);
        await deps.workers.register({
          id,
          name: id,
          labels: { zone: ['a', 'b', 'c'][n % 3]! },
          capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, diskBytes: 100 * 1024 ** 3 },
          queueUrl,
        });
        const runtime = new SimulatedRuntime(id);
        if (fullAgents) {
          started.push(
            await startWorkerAgent({
              workerId: id,
              queueUrl,
              config: { ...base, schedulingQueueUrl },
              runtime,
              sampler: { sample: async () => metrics() },
              clients: fleetClients,
              controlPlaneKey: (await deps.placementSigner()).publicKey,
            }),
          );
          return;
        }
        const stop = new AbortController();
        const beating = runHeartbeat({
          workerId: id,
          workers: fleetWorkers,
          intervalMs: base.heartbeatIntervalMs,
          idleIntervalMs: base.heartbeatIdleIntervalMs,
          sampler: { sample: async () => metrics() },
          countRunningTasks: () => runtime.countRunning(),
          log: () => {},
          signal: stop.signal,
        });
        started.push({
          stop: async () => {
            stop.abort();
            await beating;
          },
        });
      });
      agents.push(...started);
      const registration = since(before, '');
      const perWorker = round(total(registration) / Math.max(1, fresh.length), 1);
      const registerSeconds = (performance.now() - registerStarted) / 1000;
      progress(
        `fleet ${fleet}: ${fresh.length} workers registered and started in ${registerSeconds.toFixed(1)} s (${perWorker} requests each)`,
      );
      await sleep(3000);

      const step: Record<string, unknown> = { fleet, registerSeconds: round(registerSeconds, 1) };
      for (const cache of ['off', 'on'] as const) {
        process.env.CUBE_SCHEDULER_SNAPSHOT_MS = cache === 'off' ? '0' : '5000';
        step[`cache_${cache}`] = await placementRun(deps, pollTasks, batchMs, tasksPerRun);
        const r = step[`cache_${cache}`] as Record<string, number>;
        progress(
          `  snapshot cache ${cache.padEnd(3)}: batch p50 ${r.batchP50Ms} ms, p99 ${r.batchP99Ms} ms; ` +
            `${r.controlPlanePerPlacement} control-plane requests/placement (${r.scansPerPlacement} Scans), ` +
            `${r.placementsPerSecond} placements/s`,
        );
      }
      const sweepBefore = countsNow();
      const sweepStarted = performance.now();
      // Heartbeat-only workers never pick their tasks up: do not let that mark them DOWN.
      await reconcile(deps, { mayMarkDown: fullAgents });
      step.reconcileSweepMs = Math.round(performance.now() - sweepStarted);
      step.reconcileSweepRequests = total(since(sweepBefore, 'dynamodb'));
      progress(
        `  reconciler sweep: ${step.reconcileSweepMs} ms, ${step.reconcileSweepRequests} requests`,
      );
      results.push(step);
    }
  } finally {
    stopAll.abort();
    await Promise.all(agents.map((a) => a.stop()));
    await scheduler;
    await stopEmulator();
  }
  const result = {
    benchmark: 'scale',
    date: new Date().toISOString(),
    tasksPerRun,
    steps: results,
  };
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Submits `n` tasks, waits for them all placed and RUNNING, then stops them. */
async function placementRun(
  deps: ReturnType<typeof getDeps>,
  poll: TaskStore,
  batchMs: number[],
  n: number,
) {
  const ids: string[] = [];
  await inBatches(
    Array.from({ length: n }, (_, i) => i),
    10,
    async () => {
      const id = `t${randomBytes(6).toString('hex')}`;
      const { task, event } = newTask(id, SPEC, 'bench');
      await deps.tasks.create(task, event);
      ids.push(id);
    },
  );
  const before = countsNow();
  const firstBatch = batchMs.length;
  const started = performance.now();
  await inBatches(ids, 10, (id) =>
    deps.queues.sendSchedule({ kind: 'schedule', taskId: id, attempt: 1 }),
  );
  const sends = n; // the nudges above, not the scheduler's
  await waitFor(poll, ids, (t) =>
    fullAgents ? t.state !== 'PENDING' && t.state !== 'SCHEDULED' : t.state !== 'PENDING',
  );
  const seconds = (performance.now() - started) / 1000;
  const controlPlane = since(before, 'dynamodb');
  const cpSqs = since(before, 'sqs');
  const workers = since(before, 'worker.');
  const batches = batchMs.slice(firstBatch);
  const cp = total(controlPlane) + total(cpSqs) - sends;
  // Stop them the way the API does, so the next run starts from an idle fleet (simulated
  // heartbeat-only workers run nothing: their tasks stay SCHEDULED, holding their room).
  if (fullAgents) await stopTasks(deps, poll, ids);
  return {
    batches: batches.length,
    batchP50Ms: Math.round(percentile(batches, 50)),
    batchP99Ms: Math.round(percentile(batches, 99)),
    placementsPerSecond: round(n / seconds, 1),
    controlPlanePerPlacement: round(cp / n, 2),
    scansPerPlacement: round((controlPlane['dynamodb:ScanCommand'] ?? 0) / n, 2),
    fleetRequestsPerPlacement: round(total(workers) / n, 2),
  };
}

async function stopTasks(deps: ReturnType<typeof getDeps>, poll: TaskStore, ids: string[]) {
  await inBatches(ids, 10, async (id) => {
    const task = await deps.tasks.require(id);
    const stopping = await deps.tasks.transition(task, { to: 'STOPPING', by: 'bench' });
    const worker = await deps.workers.require(stopping.workerId!);
    await deps.queues.sendToWorker(worker.queueUrl, { kind: 'stop', taskId: id, attempt: 1 });
  });
  await waitFor(poll, ids, (t) => t.state === 'STOPPED');
}

async function waitFor(poll: TaskStore, ids: string[], done: (t: TaskRecord) => boolean) {
  await eventually(
    'tasks',
    async () => {
      const tasks = await Promise.all(ids.map((id) => poll.get(id)));
      return tasks.every((t) => t && done(t)) ? true : undefined;
    },
    240_000,
    1000,
  );
}

const SPEC = taskSpec({
  name: 'sim',
  image: 'simulated',
  command: ['sleep', '3600'],
  resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, diskBytes: 0 },
  stopTimeoutSeconds: 1,
});

main().catch((error) => {
  console.error(`bench:scale failed: ${(error as Error).stack}`);
  process.exit(1);
});
