// npm run bench:throughput [-- --tasks N] [--workers W] [--raw-concurrency C] [--submitters S]
//   [--start-concurrency K] [--cpus split|shared] [--raw bracket|before] [--logs FILE] [--json]
// N tasks through the API onto W separate `cube worker` processes (real containers: busybox
// sleep, no network, 16 MiB), tasks per second to RUNNING; and in the same run the engine's
// raw parallel rate for the same N containers (create+start over the Engine API, C at a time,
// no CLI process per container), with the ratio. Every task must reach RUNNING (none lost);
// all are stopped and every container removed at the end. Prints figures; asserts nothing.
// Like for like: the engine sees as many parallel starts from Cube as from the raw run. The
// workers run as shipped (`--start-concurrency`, default the worker's own, 4 slots each), and
// the raw run starts `--raw-concurrency` containers at once, default workers x slots. Here the
// W workers share one engine (on a real fleet each has its own), so that is 40 at once.
// `--cpus split` (the default on 2+ CPUs) lays the machine out as Cube is deployed
// (cpuSplit.ts): the engine and the worker daemons on half the CPUs, the emulator, `cube up`
// and the bench (the user's client) on the other half; the raw run gets the same engine CPUs.
// `--cpus shared` lets everything share every CPU, the control plane taking the engine's.
// `--raw bracket` (the default) runs the raw engine twice, before Cube's phase and after it,
// and compares Cube with the mean of the two: on a shared machine the engine's rate drifts
// over a run's ~30 min (six 300-container runs in 15 min, the same calls: 2.61 to 3.25/s), and
// a single raw run before measures Cube against another moment. `--raw before` runs once.
// `--logs FILE` keeps the control plane's and workers' output there (e.g. to see why a worker
// was taken for lost).
// The run also says whether its load made the control plane take a live worker for lost: the
// workers' `down` events from the cluster's timeline, against the worker processes, which all
// run until the end (workersDown.ts); and the closest call, the oldest heartbeat a poll of the
// nodes saw as a share of the silence allowed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClusterEvent } from '../../core/history/events.js';
import type { TaskRecord } from '../../core/types.js';
import { DEFAULT_START_CONCURRENCY } from '../../worker/engine/dockerRuntime.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster } from '../support/cli.js';
import { docker, removeContainersOfWorkers } from '../support/docker.js';
import { apiClient, benchArgs, machine, SLEEPER, sleep, waitForNodes } from './benchSupport.js';
import { benchOnSplit, spawnedOn, splitCpus, WORKER_NICE } from './cpuSplit.js';
import { pool, rawRate, removeAllLabelled, watched } from './rawEngine.js';
import { round } from './stats.js';
import { HeartbeatMargin, WorkerProcesses, workersMarkedDown } from './workersDown.js';

const { json, option, progress, text } = benchArgs();
const logsFile = text('--logs');
const taskCount = option('--tasks', 1000);
const workerCount = option('--workers', 10);
const SUBMITTERS = option('--submitters', 16);
const startConcurrency = option('--start-concurrency', DEFAULT_START_CONCURRENCY);
const rawConcurrency = option('--raw-concurrency', workerCount * startConcurrency);
const deadlineMs = option('--timeout-s', 900) * 1000;
const cpusMode = text('--cpus') ?? 'split';
if (cpusMode !== 'split' && cpusMode !== 'shared') {
  console.error(`bench:throughput: --cpus takes split or shared, not ${cpusMode}`);
  process.exit(2);
}
const split = cpusMode === 'split' ? splitCpus() : undefined;
const rawMode = text('--raw') ?? 'bracket';
if (rawMode !== 'bracket' && rawMode !== 'before') {
  console.error(`bench:throughput: --raw takes bracket or before, not ${rawMode}`);
  process.exit(2);
}

/** Split mode: the bench on the cloud CPUs, the engine on the host's, until the bench exits. */
function layOutCpus() {
  if (!split) return;
  const moved = benchOnSplit(split, 'bench:throughput');
  progress(
    `CPUs: engine (${moved} processes) and workers on ${split.host}; control plane on ${split.cloud}`,
  );
}

/**
 * One raw run: the engine's rate for the same N containers, then their removal. Said before
 * the removal when the run fails: an engine that stopped answering keeps the cleanup waiting
 * (seen: once dockerd deadlocked, a run waited silently there).
 */
async function rawPhase(when: 'before' | 'after'): Promise<number> {
  const rawLabel = `cube-bench.raw=${randomBytes(4).toString('hex')}`;
  progress(`raw engine (${when} Cube): ${taskCount} containers, ${rawConcurrency} at a time ...`);
  try {
    const raw = await rawRate(taskCount, rawConcurrency, rawLabel);
    progress(`raw engine (${when} Cube): ${raw.toFixed(2)} containers/s`);
    return raw;
  } catch (error) {
    process.stderr.write(`bench:throughput: the raw run failed: ${(error as Error).message}\n`);
    throw error;
  } finally {
    progress(`removed ${await removeAllLabelled(rawLabel, taskCount)} raw containers`);
  }
}

async function main() {
  const host = await machine();
  layOutCpus();
  // `cube worker` runs the bundle when it is fresh (bin/cube.js): measure that, the daemon
  // as installed, not the TypeScript sources compiled on the fly.
  progress('building the worker bundle ...');
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../../scripts/build-worker.mjs', import.meta.url))],
    {
      stdio: 'ignore',
    },
  );
  const rawBefore = await rawPhase('before');

  if (split && process.env.AWS_ENDPOINT_URL) {
    progress('note: the emulator at AWS_ENDPOINT_URL was not started here and is not pinned');
  }
  await ensureEmulator();
  const cluster = await startTestCluster('tput', ['--workers', '0'], { defaults: true });
  const api = apiClient(cluster);
  const workerIds: string[] = [];
  const ids: string[] = [];
  const processes = new WorkerProcesses();
  const workerNames = new Map<string, string>();
  // The same base TTL as the cluster's (the product default unless the environment sets one).
  const margin = new HeartbeatMargin(Number(process.env.CUBE_HEARTBEAT_TTL_MS ?? 6_000));
  const runStart = new Date();
  let result: Record<string, unknown> | undefined;
  let rate = 0;
  /** Why the engine was given up on while the tasks stopped (no raw run after, then). */
  let engineStalled: string | undefined;
  try {
    for (let i = 0; i < workerCount; i++) {
      // Room for all the tasks whatever the host reports: the engine is the limit here.
      const args = [
        '--cpu',
        '64',
        '--memory',
        '64g',
        '--oversubscribe',
        '--start-concurrency',
        String(startConcurrency),
      ];
      const name = `${cluster.prefix}-w${i}`;
      const start = () => processes.track(name, cluster.startWorker(name, args));
      // A worker daemon runs on the host, beside the engine.
      if (split) spawnedOn(split.host, split.cloud, start, WORKER_NICE);
      else start();
    }
    for (const node of await waitForNodes(api, workerCount)) {
      workerIds.push(node.id);
      workerNames.set(node.id, node.name);
    }

    progress(`submitting ${taskCount} tasks (${SUBMITTERS} at a time) ...`);
    const firstSubmit = Date.now();
    await pool([...Array(taskCount).keys()], SUBMITTERS, async () => {
      ids.push((await api.submit(SLEEPER)).id);
    });
    const submitSeconds = (Date.now() - firstSubmit) / 1000;
    progress(`submitted in ${submitSeconds.toFixed(1)} s; waiting for RUNNING ...`);

    const mine = new Set(ids);
    const benchWorkers = new Set(workerIds);
    let running: TaskRecord[] = [];
    let ended: TaskRecord[] = [];
    const waitStart = Date.now();
    let lastListing = 0;
    for (;;) {
      // The rate comes from each task's startedAt, not from when a poll saw it. Listing every
      // task is heavy at 1,000 tasks (it loaded the emulator of the machine being measured),
      // so poll the workers' own running counts (10 small items, from their heartbeats) and
      // list the tasks only when those say all run, or every 30 s to notice tasks that ended.
      const nodes = await api.nodes().catch(() => []);
      margin.observe(nodes.filter((n) => benchWorkers.has(n.id)));
      const reported = nodes
        .filter((n) => benchWorkers.has(n.id))
        .reduce((sum, n) => sum + (n.metrics?.runningTasks ?? 0), 0);
      progress(`${reported}/${taskCount} RUNNING (workers' heartbeats)`);
      const timedOut = Date.now() - waitStart > deadlineMs;
      if (reported >= taskCount || Date.now() - lastListing > 30_000 || timedOut) {
        lastListing = Date.now();
        let listed: TaskRecord[];
        try {
          listed = await api.list('RUNNING,FAILED,COMPLETED,STOPPED,LOST');
        } catch (error) {
          // One failed poll is not the run's result: say so, show why, poll again.
          process.stderr.write(
            `listing failed (${(error as Error).message}); control plane log tail:\n` +
              `${cluster.logs().slice(-2000)}\n`,
          );
          await sleep(5000);
          continue;
        }
        const tasks = listed.filter((t) => mine.has(t.id));
        running = tasks.filter((t) => t.state === 'RUNNING');
        ended = tasks.filter((t) => t.state !== 'RUNNING');
        progress(`${running.length}/${taskCount} RUNNING, ${ended.length} ended (listed)`);
        if (running.length + ended.length >= taskCount || timedOut) break;
      }
      await sleep(2000);
    }
    const lastRunning = Math.max(...running.map((t) => Date.parse(t.startedAt!)));
    const seconds = (lastRunning - firstSubmit) / 1000;
    rate = running.length / seconds;
    const perWorker = new Map<string, number>();
    for (const t of running) perWorker.set(t.workerId!, (perWorker.get(t.workerId!) ?? 0) + 1);
    result = {
      benchmark: 'throughput',
      date: new Date().toISOString(),
      machine: host,
      tasks: taskCount,
      workers: workerCount,
      running: running.length,
      lost: taskCount - running.length,
      // Tasks that reached RUNNING only on a later attempt: their worker was taken for lost
      // (no heartbeat in time) and they were placed again; each cost a second start.
      rescheduled: running.filter((t) => t.attempt > 1).length,
      endedStates: Object.fromEntries(
        [...new Set(ended.map((t) => t.state))].map((s) => [
          s,
          ended.filter((t) => t.state === s).length,
        ]),
      ),
      submitSeconds: round(submitSeconds, 1),
      secondsToAllRunning: round(seconds, 1),
      tasksPerSecond: round(rate, 2),
      rawConcurrency,
      startConcurrencyPerWorker: startConcurrency,
      // How many container starts Cube's workers may have in the engine at once.
      cubeParallelStarts: startConcurrency * workerCount,
      // Which CPUs the engine (and the workers) and the control plane had.
      cpus: split ?? 'shared',
      tasksPerWorker: {
        min: Math.min(...perWorker.values()),
        max: Math.max(...perWorker.values()),
      },
    };
    // Said now, --json or not: the stop and the raw run after can still hang on the engine
    // (a run lost its figures that way when dockerd deadlocked while stopping the tasks).
    process.stderr.write(
      `Cube: ${running.length}/${taskCount} RUNNING in ${round(seconds, 1)} s, ` +
        `${round(rate, 2)} tasks/s (raw before: ${round(rawBefore, 2)}/s)\n`,
    );
  } finally {
    progress('stopping the tasks ...');
    const stopStart = Date.now();
    await pool(ids, SUBMITTERS, async (id) => {
      await api.stop(id).catch(() => {});
    });
    const mine = new Set(ids);
    // Under the engine watchdog: dockerd 20.10 has deadlocked here (its stops never return),
    // and then every later call on the engine hangs too: say so and skip them.
    let stopping = ids.length;
    const whileStopping = async () => {
      while (Date.now() - stopStart < 300_000) {
        margin.observe((await api.nodes().catch(() => [])).filter((n) => workerNames.has(n.id)));
        const left = (await api.list('STOPPING').catch(() => [])).filter((t) => mine.has(t.id));
        stopping = left.length;
        if (left.length === 0) return;
        progress(`${left.length} still STOPPING`);
        await sleep(2000);
      }
    };
    try {
      await watched('stopped', () => ids.length - stopping, ids.length, whileStopping());
    } catch (error) {
      engineStalled = (error as Error).message;
    }
    if (result) {
      result.stopSeconds = round((Date.now() - stopStart) / 1000, 1);
      // Read before the cluster stops (its API answers) and before its workers are stopped.
      // Tried three times: a control plane still loaded by the stops has timed out on it.
      const readDown = () =>
        workersMarkedDown(
          (query) =>
            api.call<{ events: ClusterEvent[]; nextToken?: string }>(`/v1/events?${query}`),
          runStart,
          workerNames,
          processes,
        );
      const down = await readDown()
        .catch(() => sleep(10_000).then(readDown))
        .catch(() => sleep(20_000).then(readDown))
        .catch((error: Error) => ({ error: error.message }));
      result.workersDown = down;
      result.heartbeatWorst = {
        ageSeconds: round(margin.worstAgeMs / 1000, 1),
        shareOfAllowed: round(margin.worstShare, 2),
      };
      // Sweeps that held back their DOWN decisions because the store answered slowly.
      result.sweepsWithoutDownDecisions = cluster
        .logs()
        .split('\n')
        .filter((l) => l.includes('marking none DOWN')).length;
      if (engineStalled) result.engineStalled = engineStalled;
      else {
        result.containersLeftAfterStop = (
          await Promise.all(
            workerIds.map((w) =>
              docker.listContainers({ all: true, filters: { label: [`cube.worker=${w}`] } }),
            ),
          )
        ).flat().length;
      }
    }
    await cluster.stop();
    if (logsFile) writeFileSync(logsFile, cluster.logs());
    if (!engineStalled) await removeContainersOfWorkers(workerIds);
    await stopEmulator();
  }
  // Bracketed, the yardstick is the mean of the raw runs before and after Cube's (see top):
  // a shared machine drifts over the ~30 min of a run, and Cube's phase sits in the middle.
  // A failed run after (said on stderr by rawPhase) leaves the ratio to the run before.
  const rawAfter =
    result && rawMode === 'bracket' && !engineStalled
      ? await rawPhase('after').catch(() => undefined)
      : undefined;
  const raw = rawAfter === undefined ? rawBefore : (rawBefore + rawAfter) / 2;
  if (result) {
    Object.assign(result, {
      rawEngineStartsPerSecond: round(raw, 2),
      rawRuns: { before: round(rawBefore, 2), ...(rawAfter ? { after: round(rawAfter, 2) } : {}) },
      ratio: round(rate / raw, 2),
    });
  }
  // The figures stand (measured before the stop), but the engine needs a restart.
  if (engineStalled) process.exitCode = 1;
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const r = result as Record<string, number>;
    console.log(
      `\n${r.running}/${taskCount} tasks RUNNING on ${workerCount} workers in ${r.secondsToAllRunning} s ` +
        `(submitted in ${r.submitSeconds} s): ${r.tasksPerSecond} tasks/s` +
        `\nraw engine create+start, ${rawConcurrency} at a time: ${r.rawEngineStartsPerSecond}/s` +
        (rawAfter === undefined
          ? ''
          : ` (mean of ${round(rawBefore, 2)} before and ${round(rawAfter, 2)} after Cube)`) +
        ` (Cube: ${startConcurrency} per worker x ${workerCount} = ${r.cubeParallelStarts} at a time)` +
        `\nCPUs: ${split ? `engine and workers ${split.host}, control plane and bench ${split.cloud}` : 'shared by all'}` +
        `\nratio ${r.ratio}x (target >= 0.8x); lost ${r.lost}; rescheduled ${r.rescheduled}; ` +
        `${downLine(result)}; ` +
        (engineStalled
          ? `the engine stalled while the tasks stopped (${r.stopSeconds} s)`
          : `stopped in ${r.stopSeconds} s, ${r.containersLeftAfterStop} containers left`) +
        `\nmachine: ${JSON.stringify(host)}`,
    );
  }
}

/** `live workers marked DOWN 0 of 10 (...)`: the run's false DOWNs and its closest call. */
function downLine(result: Record<string, unknown> | undefined): string {
  const down = result?.workersDown as
    | { markedDown: number; liveMarkedDown: number; error?: undefined }
    | { error: string }
    | undefined;
  const worst = result?.heartbeatWorst as { ageSeconds: number; shareOfAllowed: number };
  if (!down) return 'workers marked DOWN: not measured';
  if (down.error !== undefined) return `workers marked DOWN: not read (${down.error})`;
  return (
    `live workers marked DOWN ${down.liveMarkedDown} (${down.markedDown} DOWN events; ` +
    `oldest heartbeat seen ${worst.ageSeconds} s, ${worst.shareOfAllowed} of the allowed silence; ` +
    `${result?.sweepsWithoutDownDecisions} sweeps held DOWN decisions back on a slow store)`
  );
}

main().catch((error) => {
  console.error(`bench:throughput failed: ${(error as Error).message}`);
  process.exit(1);
});
