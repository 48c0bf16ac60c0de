// npm run bench:footprint [-- --seconds S] [--tasks N] [--json]
// Resident memory and CPU of one `cube worker` process: idle, then with N running tasks,
// each over S seconds (VmRSS from /proc/<pid>/status every second; utime+stime from
// /proc/<pid>/stat, and the same for the child processes it waited for, e.g. `df`). Run for
// the worker from its TypeScript sources (tsx) and from the bundle (dist/cube-worker.mjs,
// built here), with the product's default heartbeat. Also the CPU one heartbeat's host
// metrics sample costs in-process. Prints figures; asserts nothing.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { HostMetricsSampler } from '../../worker/control/heartbeat.js';
import { dockerDataRoot } from '../../worker/host/hostCapacity.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster, stopChild, type TestCluster } from '../support/cli.js';
import { docker, removeContainersOfWorkers } from '../support/docker.js';
import {
  apiClient,
  benchArgs,
  machine,
  run,
  SLEEPER,
  sleep,
  waitForNodes,
} from './benchSupport.js';
import { mean, round } from './stats.js';

const { json, option, progress } = benchArgs();
const seconds = option('--seconds', 60);
const taskCount = option('--tasks', 50);
const CLOCK_TICKS = 100; // USER_HZ on Linux

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(line?.[1] ?? 0) / 1024;
}

/** utime+stime of the process, and cutime+cstime of its waited-for children, in seconds. */
function cpuSeconds(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // Fields 14..17 of stat(5), counted from `state` (field 3) here.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15) as [number, number, number, number];
  return { own: (utime + stime) / CLOCK_TICKS, children: (cutime + cstime) / CLOCK_TICKS };
}

async function measure(pid: number, what: string) {
  progress(`  measuring ${what} for ${seconds} s ...`);
  const rss: number[] = [];
  const before = cpuSeconds(pid);
  const start = performance.now();
  for (let i = 0; i < seconds; i++) {
    rss.push(rssMiB(pid));
    await sleep(1000);
  }
  const elapsed = (performance.now() - start) / 1000;
  const after = cpuSeconds(pid);
  return {
    rssMiB: {
      mean: round(mean(rss)),
      max: round(Math.max(...rss)),
    },
    cpuPercent: round((100 * (after.own - before.own)) / elapsed, 2),
    childCpuPercent: round((100 * (after.children - before.children)) / elapsed, 2),
  };
}

async function oneVariant(cluster: TestCluster, variant: 'source' | 'bundle') {
  progress(`worker from ${variant}:`);
  // startWorker spawns with cluster.env, read at each spawn.
  cluster.env.CUBE_WORKER_FROM_SOURCE = variant === 'source' ? '1' : '0';
  const api = apiClient(cluster);
  const name = `${cluster.prefix}-${variant}`;
  const child: ChildProcess = cluster.startWorker(name, [
    '--cpu',
    '64',
    '--memory',
    '64g',
    '--oversubscribe',
  ]);
  const ids: string[] = [];
  let workerId: string | undefined;
  try {
    for (let i = 0; !workerId; i++) {
      workerId = (await waitForNodes(api, 1)).find((n) => n.name === name)?.id;
      if (i > 300) throw new Error(`worker ${name} did not register`);
      await sleep(200);
    }
    await sleep(10_000); // start-up done: JIT, first heartbeats, first reconcile
    const idle = await measure(child.pid!, 'idle');
    for (let i = 0; i < taskCount; i++) ids.push((await api.submit(SLEEPER)).id);
    const deadline = Date.now() + 180_000;
    while ((await api.list('RUNNING')).filter((t) => ids.includes(t.id)).length < taskCount) {
      if (Date.now() > deadline) throw new Error('tasks did not all reach RUNNING');
      await sleep(1000);
    }
    await sleep(5000);
    const busy = await measure(child.pid!, `${taskCount} running tasks`);
    return { idle, [`with${taskCount}Tasks`]: busy };
  } finally {
    await Promise.all(ids.map((id) => api.stop(id).catch(() => {})));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const left = (await api.list('STOPPING').catch(() => [])).filter((t) => ids.includes(t.id));
      if (left.length === 0) break;
      await sleep(1000);
    }
    await stopChild(child);
    if (workerId) await removeContainersOfWorkers([workerId]);
    // Its record stays (DOWN later); the next variant registers under another name.
  }
}

/** CPU one host metrics sample (the heartbeat's systeminformation calls) costs here. */
async function sampleCost() {
  // Every call a real sample (the daemon reuses one for HOST_SAMPLE_MAX_AGE_MS).
  const sampler = new HostMetricsSampler(await dockerDataRoot(docker), 0);
  await sampler.sample(0);
  const n = 20;
  const before = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) await sampler.sample(0);
  const cpu = process.cpuUsage(before);
  return {
    cpuMsPerSample: round((cpu.user + cpu.system) / 1000 / n, 1),
    wallMsPerSample: round((performance.now() - start) / n, 1),
  };
}

async function main() {
  const host = await machine();
  progress('building dist/cube-worker.mjs ...');
  await run(process.execPath, ['scripts/build-worker.mjs']);
  await ensureEmulator();
  // One worker at a time, none started by `cube up`; the product's default intervals.
  const cluster = await startTestCluster('footprint', ['--workers', '0'], { defaults: true });
  try {
    const source = await oneVariant(cluster, 'source');
    const bundle = await oneVariant(cluster, 'bundle');
    const result = {
      benchmark: 'footprint',
      date: new Date().toISOString(),
      machine: host,
      secondsPerWindow: seconds,
      source,
      bundle,
      heartbeatSample: await sampleCost(),
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else console.log(JSON.stringify(result, null, 2));
  } finally {
    await cluster.stop();
    await stopEmulator();
  }
}

main().catch((error) => {
  console.error(`bench:footprint failed: ${(error as Error).message}`);
  process.exit(1);
});
