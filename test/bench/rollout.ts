// npm run bench:rollout [-- --replicas 10] [--surge 2] [--min-healthy 2] [--json]
// A rolling update of a service on a real `cube up` (2 local workers, real Docker): total
// rollout time against its floor, batches x (raw `docker run -d` + minHealthyTime), the
// replicas-healthy curve sampled every 200 ms, and AWS requests per replaced replica (SDK
// middleware counts, idle background subtracted). Prints figures; asserts nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceView } from '../../cli/services/types.js';
import { waitForWorkers } from '../chaos/support.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { apiCaller, startTestCluster, type TestCluster } from '../support/cli.js';
import { removeContainersOfWorkers } from '../support/docker.js';
import { benchArgs, machine, rawDockerRun, removeLabelled, SLEEPER } from './benchSupport.js';
import { add, type Counts, delta, readSnapshot, scale, total } from './requestCounts.js';
import { percentile, round } from './stats.js';

const args = benchArgs();
const replicas = args.option('--replicas', 10);
const maxSurge = args.option('--surge', 2);
const minHealthyTime = args.option('--min-healthy', 2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serviceSpec(mode: string) {
  return {
    name: 'bench-web',
    replicas,
    // The container the floor's raw `docker run` starts (same image and limits): a start
    // runs under the container's CPU quota, so a smaller one starts slower for both alike.
    task: { ...SLEEPER, env: { MODE: mode } },
    update: { maxSurge, maxUnavailable: 0, minHealthyTime, healthyDeadline: 120 },
  };
}

function api(cluster: TestCluster) {
  const call = apiCaller(`${cluster.apiUrl}/v1`, cluster.token);
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await call<T>(method, path, body);
    if (answer.status >= 400) {
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  };
}

interface Sample {
  t: number;
  healthy: number;
  updated: number;
  live: number;
}

/** Polls every 200 ms until the rollout of `revision` completes; the curve it saw. */
async function follow(call: ReturnType<typeof api>, revision: number, timeoutMs: number) {
  const start = performance.now();
  const samples: Sample[] = [];
  for (;;) {
    const { service } = await call<{ service: ServiceView }>('GET', '/services/bench-web');
    const t = (performance.now() - start) / 1000;
    const { counts } = service;
    samples.push({ t, healthy: counts.healthy, updated: counts.updated, live: counts.live });
    const done =
      service.rollout.revision === revision &&
      service.rollout.state === 'complete' &&
      counts.updated === replicas &&
      counts.healthy === replicas &&
      counts.live === replicas;
    if (done) return { seconds: t, samples };
    if (service.rollout.state === 'failed' || service.rollout.state === 'rolled-back') {
      throw new Error(`rollout ended ${service.rollout.state}: ${service.rollout.reason}`);
    }
    if (t * 1000 > timeoutMs) throw new Error(`rollout not complete after ${t.toFixed(0)} s`);
    await sleep(200);
  }
}

interface ReplicaTimes {
  revision: number;
  created: number;
  scheduled?: number;
  starting?: number;
  running?: number;
}

/** Every replica the service's slots ever held (ids are `<name>-<uid>-s<slot>-g<gen>`). */
async function replicaTimes(call: ReturnType<typeof api>, anyId: string, slots: number) {
  const base = anyId.replace(/-s\d+-g\d+$/, '');
  const out: ReplicaTimes[] = [];
  for (let slot = 0; slot < slots; slot++) {
    for (let gen = 1; ; gen++) {
      const found = await call<{
        task: Record<string, string> & { serviceRevision: number };
        events: { to: string; at: string }[];
      }>('GET', `/tasks/${base}-s${slot}-g${gen}`).catch(() => undefined);
      if (!found) break;
      const { task } = found;
      const starting = found.events.find((e) => e.to === 'STARTING')?.at;
      const at = (field: string) => (task[field] ? Date.parse(task[field]) : undefined);
      out.push({
        revision: task.serviceRevision,
        created: at('createdAt')!,
        ...(at('scheduledAt') ? { scheduled: at('scheduledAt') } : {}),
        ...(starting ? { starting: Date.parse(starting) } : {}),
        ...(at('startedAt') ? { running: at('startedAt') } : {}),
      });
    }
  }
  return out;
}

/**
 * Where a rollout's time goes, from the new replicas' records (ms, p50 / max): created ->
 * SCHEDULED -> STARTING (the worker's claim) -> RUNNING (the engine's create and start), and the controller's reaction: from a new replica's minHealthyTime
 * ending to the next replica created after it (the run that stops an old one starts the next).
 */
function breakdown(replicas: ReplicaTimes[], revision: number, minHealthyMs: number) {
  const fresh = replicas
    .filter((r) => r.revision === revision)
    .sort((a, b) => a.created - b.created);
  const steps = (values: number[]) => ({
    p50: round(percentile(values, 50), 0),
    max: round(Math.max(...values), 0),
  });
  const placed = fresh.filter((r) => r.scheduled !== undefined);
  const claimed = fresh.filter((r) => r.scheduled !== undefined && r.starting !== undefined);
  const started = fresh.filter((r) => r.starting !== undefined && r.running !== undefined);
  const dues = fresh.flatMap((r) => (r.running !== undefined ? [r.running + minHealthyMs] : []));
  const reactions = fresh.flatMap((r) => {
    const before = dues.filter((d) => d <= r.created);
    return before.length > 0 ? [r.created - Math.max(...before)] : [];
  });
  return {
    createdToScheduledMs: steps(placed.map((r) => r.scheduled! - r.created)),
    scheduledToStartingMs: steps(claimed.map((r) => r.starting! - r.scheduled!)),
    startingToRunningMs: steps(started.map((r) => r.running! - r.starting!)),
    healthyToNextCreateMs: steps(reactions),
  };
}

async function main() {
  delete process.env.CUBE_REQUEST_COUNT_FILE; // the bench's own polling is not counted
  await ensureEmulator();
  const countFile = join(mkdtempSync(join(tmpdir(), 'cube-rollout-')), 'requests');
  const rawLabel = `cube-bench-raw-rollout-${process.pid}`;
  const rawMs: number[] = [];
  for (let i = 0; i < 5; i++) rawMs.push((await rawDockerRun(rawLabel)).ms);
  await removeLabelled(rawLabel);
  const rawStart = percentile(rawMs, 50) / 1000;

  const cluster = await startTestCluster('rollout', ['--workers', '0'], {
    defaults: true,
    env: { CUBE_REQUEST_COUNT_FILE: countFile },
  });
  const workerIds: string[] = [];
  try {
    cluster.startWorker(`${cluster.prefix}-a`);
    cluster.startWorker(`${cluster.prefix}-b`);
    workerIds.push(...(await waitForWorkers(cluster, 2)).map((w) => w.id));
    const call = api(cluster);
    args.progress(`applying revision 1: ${replicas} replicas`);
    await call('PUT', '/services/bench-web', serviceSpec('v1'));
    await follow(call, 1, 300_000);
    args.progress('revision 1 complete; measuring the idle background for 10 s');
    await sleep(1500);
    const idle0 = { at: performance.now(), snap: readSnapshot(countFile) };
    await sleep(10_000);
    const idle1 = { at: performance.now(), snap: readSnapshot(countFile) };
    const idlePerSecond = scale(
      delta(idle0.snap, idle1.snap, () => true),
      1000 / (idle1.at - idle0.at),
    );

    args.progress(`applying revision 2 (maxSurge ${maxSurge}, minHealthyTime ${minHealthyTime} s)`);
    const before = { at: performance.now(), snap: readSnapshot(countFile) };
    await call('PUT', '/services/bench-web', serviceSpec('v2'));
    const { seconds, samples } = await follow(call, 2, 600_000);
    await sleep(1500); // past a counter flush
    const after = { at: performance.now(), snap: readSnapshot(countFile) };
    const windowSeconds = (after.at - before.at) / 1000;
    const rolloutRequests: Counts = add(
      delta(before.snap, after.snap, () => true),
      idlePerSecond,
      -windowSeconds,
    );
    const perReplica = scale(rolloutRequests, 1 / replicas);

    const { service: final } = await call<{ service: ServiceView }>('GET', '/services/bench-web');
    const where = breakdown(
      await replicaTimes(call, final.replicaTasks[0]!.taskId, replicas + maxSurge),
      2,
      minHealthyTime * 1000,
    );
    const batches = Math.ceil(replicas / maxSurge);
    const floor = batches * (rawStart + minHealthyTime);
    const minHealthy = Math.min(...samples.map((s) => s.healthy));
    const result = {
      benchmark: 'rollout',
      date: new Date().toISOString(),
      machine: await machine(),
      replicas,
      maxSurge,
      maxUnavailable: 0,
      minHealthyTime,
      rolloutSeconds: round(seconds, 2),
      floorSeconds: round(floor, 2),
      ratioToFloor: round(seconds / floor, 2),
      rawDockerRunSeconds: round(rawStart, 3),
      minHealthyDuringRollout: minHealthy,
      whereTheTimeGoes: where,
      requestsPerReplacedReplica: round(total(perReplica), 1),
      requestsPerReplacedReplicaByOperation: Object.fromEntries(
        Object.entries(perReplica)
          .filter(([, n]) => n >= 0.05)
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => [k, round(n, 1)]),
      ),
      curve: samples
        .filter(
          (s, i) =>
            i === 0 ||
            s.healthy !== samples[i - 1]!.healthy ||
            s.updated !== samples[i - 1]!.updated,
        )
        .map((s) => ({ t: round(s.t, 1), healthy: s.healthy, updated: s.updated, live: s.live })),
      target: 'rolloutSeconds <= 1.3 x floorSeconds',
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    console.log(
      [
        `rollout of ${replicas} replicas (maxSurge ${maxSurge}, maxUnavailable 0, minHealthyTime ${minHealthyTime} s): ${result.rolloutSeconds} s`,
        `floor ${batches} batches x (raw docker run ${result.rawDockerRunSeconds} s + ${minHealthyTime} s) = ${result.floorSeconds} s -> ${result.ratioToFloor}x (target <= 1.3x)`,
        `healthy replicas never below ${minHealthy} (floor ${replicas})`,
        `new replicas, ms p50/max: created->SCHEDULED ${where.createdToScheduledMs.p50}/${where.createdToScheduledMs.max}, SCHEDULED->STARTING ${where.scheduledToStartingMs.p50}/${where.scheduledToStartingMs.max}, STARTING->RUNNING ${where.startingToRunningMs.p50}/${where.startingToRunningMs.max}, minHealthyTime over->next replica created ${where.healthyToNextCreateMs.p50}/${where.healthyToNextCreateMs.max}`,
        `AWS requests per replaced replica: ${result.requestsPerReplacedReplica}`,
        ...Object.entries(result.requestsPerReplacedReplicaByOperation).map(
          ([k, n]) => `  ${k}: ${n}`,
        ),
        'curve (s: healthy/updated/live):',
        `  ${result.curve.map((s) => `${s.t}: ${s.healthy}/${s.updated}/${s.live}`).join(', ')}`,
      ].join('\n'),
    );
  } finally {
    await cluster.stop();
    await removeContainersOfWorkers(workerIds);
    await stopEmulator();
  }
}

main().catch((error) => {
  console.error(`bench:rollout failed: ${(error as Error).message}`);
  process.exit(1);
});
