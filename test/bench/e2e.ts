// npm run bench:e2e [-- --tasks N] [--poll-ms N] [--json]
// Submit -> RUNNING latency on the local stack (a real `cube up`: emulator, control plane,
// one `cube worker` process, real containers), one task at a time, and the raw engine's
// `docker run -d` of the same image interleaved with it (one raw run per task, so both see
// the same load and the same number of running containers). Also a per-phase breakdown from
// the task's own timeline and Docker's create/start events. Prints figures; asserts nothing.
import { randomBytes } from 'node:crypto';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster } from '../support/cli.js';
import { docker, removeContainersOfWorkers } from '../support/docker.js';
import {
  apiClient,
  benchArgs,
  followDockerTimes,
  machine,
  rawDockerRun,
  removeLabelled,
  sleep,
  waitForNodes,
} from './benchSupport.js';
import { sqsWakeUp } from './sqsWakeUp.js';
import { percentile, round, summary } from './stats.js';

const { json, option, progress } = benchArgs();
const taskCount = option('--tasks', 200);
const pollMs = option('--poll-ms', 10);
const TASK_TIMEOUT_MS = 60_000;

const PHASES = [
  ['submit -> PENDING written (api)', 'submit', 'PENDING'],
  ['-> SCHEDULED (queue, scheduler)', 'PENDING', 'SCHEDULED'],
  ['-> STARTING (worker queue, claim)', 'SCHEDULED', 'STARTING'],
  ['-> container created', 'STARTING', 'create'],
  ['-> container started', 'create', 'start'],
  ['-> RUNNING (record)', 'start', 'RUNNING'],
  ['-> seen by the client (poll)', 'RUNNING', 'seen'],
] as const;

async function main() {
  const rawLabel = `cube-bench.raw=${randomBytes(4).toString('hex')}`;
  const host = await machine();
  await ensureEmulator();
  // The product's own intervals (heartbeat, reconcile), not the tests' quicker ones.
  const cluster = await startTestCluster('e2e', ['--workers', '0'], { defaults: true });
  // Room for every task whatever the host reports (all of them keep running to the end).
  cluster.startWorker(`${cluster.prefix}-w`, [
    '--cpu',
    '256',
    '--memory',
    '64g',
    '--oversubscribe',
  ]);
  const api = apiClient(cluster);
  const stopEvents = new AbortController();
  const workerIds: string[] = [];
  const ids: string[] = [];
  try {
    workerIds.push(...(await waitForNodes(api, 1)).map((n) => n.id));
    const dockerTimes = await followDockerTimes(stopEvents.signal);
    const wake = await sqsWakeUp(20);

    const submitAndWait = async () => {
      const submittedAt = Date.now();
      const start = performance.now();
      const task = await api.submit();
      ids.push(task.id);
      for (let polls = 0; ; polls++) {
        await sleep(pollMs);
        // Ask the API often only once Docker has started the container: polling it all along
        // loads the same two cores the engine needs to start it (an artifact of measuring).
        if (!dockerTimes.get(task.id)?.start && polls % 10 !== 9) continue;
        const { task: now } = await api.get(task.id);
        if (now.state === 'RUNNING') {
          return { id: task.id, ms: performance.now() - start, submittedAt, seenAt: Date.now() };
        }
        if (['FAILED', 'STOPPED', 'COMPLETED', 'LOST'].includes(now.state)) {
          throw new Error(`task ${task.id} ended ${now.state}: ${now.reason}`);
        }
        if (performance.now() - start > TASK_TIMEOUT_MS) throw new Error(`task ${task.id} stuck`);
      }
    };
    const rawOnce = async () => {
      const { ms, id } = await rawDockerRun(rawLabel);
      await docker.getContainer(id).remove({ force: true });
      return ms;
    };

    progress('warm-up: 3 raw runs, 3 tasks ...');
    for (let i = 0; i < 3; i++) {
      await rawOnce();
      await submitAndWait();
    }
    const raw: number[] = [];
    const cube: Awaited<ReturnType<typeof submitAndWait>>[] = [];
    for (let i = 0; i < taskCount; i++) {
      // Alternate which goes first, so neither always follows the other's clean-up.
      if (i % 2 === 0) raw.push(await rawOnce());
      cube.push(await submitAndWait());
      if (i % 2 === 1) raw.push(await rawOnce());
      if ((i + 1) % 20 === 0) progress(`${i + 1}/${taskCount} tasks RUNNING`);
    }

    // Per-phase breakdown: the task's timeline (written by api, scheduler, worker) and
    // Docker's create/start events, all on this machine's clock.
    progress('reading timelines ...');
    const phases = new Map<string, number[]>(PHASES.map(([name]) => [name, []]));
    for (const one of cube) {
      const { events } = await api.get(one.id);
      const at: Record<string, number> = { submit: one.submittedAt, seen: one.seenAt };
      for (const e of events) at[e.to] ??= Date.parse(e.at);
      Object.assign(at, dockerTimes.get(one.id));
      for (const [name, from, to] of PHASES) {
        if (at[from] !== undefined && at[to] !== undefined) {
          phases.get(name)!.push(at[to]! - at[from]!);
        }
      }
    }
    const breakdown = Object.fromEntries(
      [...phases].map(([name, values]) => [
        name,
        { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) },
      ]),
    );

    const rawStats = summary(raw);
    const cubeStats = summary(cube.map((c) => c.ms));
    const result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      machine: host,
      tasks: taskCount,
      pollMs,
      rawDockerRunMs: rawStats,
      submitToRunningMs: cubeStats,
      ratioP50: round(cubeStats.p50 / rawStats.p50, 2),
      ratioP99ToRawP50: round(cubeStats.p99 / rawStats.p50, 2),
      ratioP99ToRawP99: round(cubeStats.p99 / rawStats.p99, 2),
      breakdownMs: breakdown,
      emulatorSqsWakeUpMs: wake,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const cell = (v: number) => String(v).padStart(8);
      const row = (name: string, s: ReturnType<typeof summary>) =>
        `${name.padEnd(36)}${cell(s.p50)}${cell(s.p95)}${cell(s.p99)}${cell(s.max)}`;
      console.log(`\n${'ms'.padEnd(36)}${cell(0).replace('0', 'p50')}     p95     p99     max`);
      console.log(row(`raw docker run -d (n=${raw.length})`, rawStats));
      console.log(row(`submit -> RUNNING (n=${taskCount})`, cubeStats));
      console.log(
        `\nratio p50/raw p50: ${result.ratioP50}x   p99/raw p50: ${result.ratioP99ToRawP50}x` +
          `   p99/raw p99: ${result.ratioP99ToRawP99}x   (targets 2.5x, 5x)`,
      );
      console.log('\nwhere the time goes (ms)                 p50     p99');
      for (const [name, s] of Object.entries(breakdown)) {
        console.log(`  ${name.padEnd(36)}${cell(s.p50)}${cell(s.p99)}`);
      }
      console.log(
        `\nemulator (moto) SQS: send ${wake.sendP50} ms, send -> waiting long poll returns ` +
          `${wake.wakeP50} ms p50 (${wake.wakeMax} ms max)`,
      );
      console.log(`machine: ${JSON.stringify(host)}`);
    }
  } finally {
    progress('stopping the tasks ...');
    await Promise.all(ids.map((id) => api.stop(id).catch(() => {})));
    await waitStopped(api, ids);
    stopEvents.abort();
    await cluster.stop();
    await removeContainersOfWorkers(workerIds);
    await removeLabelled(rawLabel);
    await stopEmulator();
  }
}

/** Until no task of ours is left STOPPING (bounded: the clean-up removes containers anyway). */
async function waitStopped(api: ReturnType<typeof apiClient>, ids: string[]) {
  const mine = new Set(ids);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const stopping = (await api.list('STOPPING').catch(() => [])).filter((t) => mine.has(t.id));
    if (stopping.length === 0) return;
    await sleep(500);
  }
}

main().catch((error) => {
  console.error(`bench:e2e failed: ${(error as Error).message}`);
  process.exit(1);
});
