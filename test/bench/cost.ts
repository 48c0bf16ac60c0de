// npm run bench:cost [-- --workers N] [--tasks K] [--idle-seconds S] [--json]
// AWS requests per task (submit -> RUNNING -> stop -> STOPPED) and per idle worker-minute,
// counted by the SDK middleware (aws/requestCounter.ts) in a real `cube up --workers 0` and N
// `cube worker` daemons with real containers, split by who made them; then priced at AWS list
// prices. Prints figures; asserts nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsClients } from '../../aws/clients.js';
import { controlPlaneConfig } from '../../aws/config.js';
import { TaskStore } from '../../aws/taskStore.js';
import { WorkerStore } from '../../aws/workerStore.js';
import type { TaskState } from '../../core/types.js';
import { submitSleepers, waitForWorkers } from '../chaos/support.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster } from '../support/cli.js';
import { removeContainersOfWorkers } from '../support/docker.js';
import { costOf, fmt$, type ItemSizes, PRICES, perTaskServerless, table } from './costModel.js';
import {
  add,
  type Counts,
  delta,
  readSnapshot,
  removeCountFiles,
  scale,
  total,
} from './requestCounts.js';
import { round } from './stats.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const workerCount = option('--workers', 2);
const taskCount = option('--tasks', 20);
const idleSeconds = option('--idle-seconds', 120);
const progress = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The counter flushes once a second: wait past a flush before reading. */
const settledSnapshot = async (file: string) => {
  await sleep(1500);
  return { at: performance.now(), snapshot: readSnapshot(file) };
};
const round2 = (c: Counts) =>
  Object.fromEntries(Object.entries(c).map(([k, n]) => [k, round(n, 2)]));

async function main() {
  // The bench's own reads (polling task states) must not be counted.
  delete process.env.CUBE_REQUEST_COUNT_FILE;
  await ensureEmulator();
  const countFile = join(mkdtempSync(join(tmpdir(), 'cube-cost-')), 'requests');
  const cluster = await startTestCluster('cost', ['--workers', '0'], {
    defaults: true,
    env: { CUBE_REQUEST_COUNT_FILE: countFile },
  });
  const config = controlPlaneConfig({ CUBE_PREFIX: cluster.prefix });
  const tasks = new TaskStore(awsClients().ddb, config);
  const workerStore = new WorkerStore(awsClients().ddb, config);
  const workerIds: string[] = [];
  try {
    const children = Array.from({ length: workerCount }, (_, i) =>
      cluster.startWorker(`${cluster.prefix}-w${i}`),
    );
    const workerPids = new Set(children.map((c) => c.pid!));
    const isWorker = (pid: number) => workerPids.has(pid);
    const isControlPlane = (pid: number) => !workerPids.has(pid);
    workerIds.push(...(await waitForWorkers(cluster, workerCount)).map((w) => w.id));
    progress(`${workerCount} workers READY; letting start-up settle`);
    await sleep(15_000);

    // Idle: nothing placed, everyone just keeping in touch.
    const idle0 = await settledSnapshot(countFile);
    progress(`idle window: ${idleSeconds} s`);
    await sleep(idleSeconds * 1000);
    const idle1 = await settledSnapshot(countFile);
    const idleMinutes = (idle1.at - idle0.at) / 60_000;
    const idleWorker = delta(idle0.snapshot, idle1.snapshot, isWorker);
    const idleControlPlane = delta(idle0.snapshot, idle1.snapshot, isControlPlane);
    const perWorkerMinute = scale(idleWorker, 1 / (workerCount * idleMinutes));
    const controlPlanePerMinute = scale(idleControlPlane, 1 / idleMinutes);

    // Tasks: submit, RUNNING, stop, STOPPED.
    const t0 = await settledSnapshot(countFile);
    progress(`submitting ${taskCount} tasks`);
    const ids = await submitSleepers(cluster, taskCount);
    await waitForAll(tasks, ids, 'RUNNING');
    progress(`${taskCount} RUNNING; stopping them`);
    for (const id of ids) {
      const response = await fetch(`${cluster.apiUrl}/v1/tasks/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${cluster.token}` },
      });
      if (response.status !== 202) throw new Error(`stop ${id}: ${response.status}`);
    }
    await waitForAll(tasks, ids, 'STOPPED');
    const t1 = await settledSnapshot(countFile);
    const minutes = (t1.at - t0.at) / 60_000;
    const perTask = (pids: (pid: number) => boolean, idleRate: Counts, processes: number) =>
      scale(
        add(delta(t0.snapshot, t1.snapshot, pids), idleRate, -minutes * processes),
        1 / taskCount,
      );
    const taskWorker = perTask(isWorker, perWorkerMinute, workerCount);
    const taskControlPlane = perTask(isControlPlane, controlPlanePerMinute, 1);
    const taskAll = add(taskWorker, taskControlPlane);

    const sizes = await itemSizes(tasks, workerStore, ids[0]!, workerIds[0]!);
    report({
      perWorkerMinute,
      controlPlanePerMinute,
      taskWorker,
      taskControlPlane,
      taskAll,
      sizes,
      idleMinutes,
      taskWindowSeconds: minutes * 60,
    });
  } finally {
    await cluster.stop();
    await removeContainersOfWorkers(workerIds);
    removeCountFiles(countFile);
    await stopEmulator();
  }
}

async function waitForAll(tasks: TaskStore, ids: string[], state: TaskState) {
  await eventually(
    `${ids.length} tasks ${state}`,
    async () => {
      const inState = new Set((await tasks.listByState([state])).map((t) => t.id));
      return ids.every((id) => inState.has(id)) ? true : undefined;
    },
    180_000,
    500,
  );
}

async function itemSizes(
  tasks: TaskStore,
  workers: WorkerStore,
  taskId: string,
  workerId: string,
): Promise<ItemSizes> {
  const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
  const events = await tasks.events(taskId);
  return {
    task: bytes(await tasks.get(taskId)),
    event: Math.round(events.reduce((s, e) => s + bytes(e), 0) / Math.max(1, events.length)),
    worker: bytes(await workers.get(workerId)),
  };
}

interface Figures {
  perWorkerMinute: Counts;
  controlPlanePerMinute: Counts;
  taskWorker: Counts;
  taskControlPlane: Counts;
  taskAll: Counts;
  sizes: ItemSizes;
  idleMinutes: number;
  taskWindowSeconds: number;
}

function report(f: Figures) {
  // Scheduler invocations: its receives from the scheduling queue that carried a nudge; the
  // control plane's only receives are the scheduler's, and its idle polls are subtracted.
  const schedulerInvocations = Math.max(0, f.taskControlPlane['sqs:ReceiveMessageCommand'] ?? 0);
  const serverless = perTaskServerless(schedulerInvocations);
  const million = 1e6;
  const workerMonthMinutes = 30 * 24 * 60;
  const perMillion = (counts: Counts) => costOf(counts, f.sizes).dollars * million;
  const result = {
    benchmark: 'cost',
    date: new Date().toISOString(),
    workers: workerCount,
    tasks: taskCount,
    idleMinutes: round(f.idleMinutes, 2),
    taskWindowSeconds: round(f.taskWindowSeconds, 1),
    itemBytes: f.sizes,
    requestsPerTask: round(total(f.taskAll), 2),
    // A busy worker beats every 3 s whatever it runs: those writes are per busy worker-minute
    // (20), not per task; here they are spread over this run's tasks, and also shown apart.
    busyHeartbeatsPerTask: round(f.taskWorker['dynamodb:UpdateItemCommand'] ?? 0, 2),
    requestsPerTaskWithoutHeartbeats: round(
      total(f.taskAll) - (f.taskWorker['dynamodb:UpdateItemCommand'] ?? 0),
      2,
    ),
    requestsPerTaskByWho: {
      controlPlane: round(total(f.taskControlPlane), 2),
      worker: round(total(f.taskWorker), 2),
    },
    requestsPerTaskByOperation: {
      controlPlane: round2(f.taskControlPlane),
      worker: round2(f.taskWorker),
    },
    requestsPerIdleWorkerMinute: round(total(f.perWorkerMinute), 2),
    idleWorkerMinuteByOperation: round2(f.perWorkerMinute),
    controlPlaneFixedPerMinute: round(total(f.controlPlanePerMinute), 1),
    controlPlaneFixedByOperation: round2(f.controlPlanePerMinute),
    dollars: {
      perMillionTasks: {
        dynamodbAndSqs: round(perMillion(f.taskAll), 2),
        apiGateway: round(serverless.api * million, 2),
        lambda: round(serverless.lambda * million, 2),
      },
      perIdleWorkerMonth: round(costOf(f.perWorkerMinute, f.sizes).dollars * workerMonthMinutes, 3),
      controlPlaneFixedPerMonth: round(
        costOf(f.controlPlanePerMinute, f.sizes).dollars * workerMonthMinutes,
        2,
      ),
    },
    targets: { requestsPerTask: 10, requestsPerIdleWorkerMinute: 4 },
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  console.log(
    [
      '',
      `item sizes (bytes): task ${f.sizes.task}, event ${f.sizes.event}, worker ${f.sizes.worker}`,
      `requests per task: ${result.requestsPerTask} (control plane ${result.requestsPerTaskByWho.controlPlane}, worker ${result.requestsPerTaskByWho.worker}; target <= 10), of which busy heartbeats ${result.busyHeartbeatsPerTask}`,
      `requests per idle worker-minute: ${result.requestsPerIdleWorkerMinute} (target <= 4)`,
      `control plane fixed cost: ${result.controlPlaneFixedPerMinute} requests/minute (cube up: reconciler every 5 s, scheduler long-poll)`,
      '',
      table('per task, control plane — one million tasks:', f.taskControlPlane, f.sizes, million),
      table('per task, worker — one million tasks:', f.taskWorker, f.sizes, million),
      `  + API Gateway (2 requests/task): ${fmt$(serverless.api * million)}; Lambda (${round(2 + schedulerInvocations, 2)} invocations/task, 256 MB x 100 ms assumed): ${fmt$(serverless.lambda * million)}`,
      '',
      table(
        'idle worker-minute — one idle worker-month:',
        f.perWorkerMinute,
        f.sizes,
        workerMonthMinutes,
      ),
      table(
        'control plane per minute — one month:',
        f.controlPlanePerMinute,
        f.sizes,
        workerMonthMinutes,
      ),
      `  (prices: DynamoDB $${PRICES.wru * 1e6}/M WRU, $${PRICES.rru * 1e6}/M RRU, transactions 2x; SQS $${PRICES.sqsRequest * 1e6}/M; free tier ignored)`,
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(`bench:cost failed: ${(error as Error).stack}`);
  process.exit(1);
});
