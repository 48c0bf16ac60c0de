// npm run bench:engine-calls [-- --containers N] [--rounds R] [--workers W] [--json]
// What Cube's workers cost the engine beside the starts themselves. Rounds alternate between
// bench:throughput's raw run (create+start, nothing else) and the worker's own engine code:
// W DockerRuntime instances (one per worker of bench:throughput), each container made with
// createAndStart (Cube's name, labels, stop signal and timeout) then inspectExit, as a run
// message does; meanwhile each runtime follows its die events (followContainerEvents, the
// worker's stream) and lists its containers every 15 s (listOwn, the reconcile pass). Same
// image, limits and parallel starts (W x 4). The engine is on the host CPUs and the bench on
// the others (cpuSplit.ts); the engine's CPU per container is the machine's busy time over the
// starts less the bench's own. Alternating rounds let the machine's drift show as spread
// instead of as a difference. Prints figures; asserts nothing.
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { formatTable } from '../../cli/table.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { newTask } from '../../core/taskStateMachine.js';
import { DEFAULT_RECONCILE_INTERVAL_MS } from '../../worker/control/localReconcile.js';
import { DEFAULT_START_CONCURRENCY, DockerRuntime } from '../../worker/engine/dockerRuntime.js';
import { followContainerEvents } from '../../worker/tasks/containerEvents.js';
import { docker } from '../support/docker.js';
import { benchArgs, machine, SLEEPER } from './benchSupport.js';
import { benchOnSplit, splitCpus } from './cpuSplit.js';
import { rawRate, removeAllLabelled, startAll } from './rawEngine.js';
import { mean, round } from './stats.js';

const { json, option, progress } = benchArgs();
const count = option('--containers', 300);
const rounds = option('--rounds', 3);
const workerCount = option('--workers', 10);
const concurrency = workerCount * DEFAULT_START_CONCURRENCY;

/** Busy milliseconds of the whole machine so far (every CPU, all but idle). */
function machineBusyMs(): number {
  return cpus().reduce((sum, { times: t }) => sum + t.user + t.nice + t.sys + t.irq, 0);
}

/** The engine's CPU for `work`: the machine's busy time less this process's own. */
async function engineCpuMs(work: () => Promise<unknown>): Promise<{ ms: number; secs: number }> {
  const busy = machineBusyMs();
  const own = process.cpuUsage();
  const start = performance.now();
  await work();
  const secs = (performance.now() - start) / 1000;
  const mine = process.cpuUsage(own);
  return { ms: machineBusyMs() - busy - (mine.user + mine.system) / 1000, secs };
}

/** The worker's engine calls for `count` containers, W runtimes following and listing. */
async function cubeRound(tag: string, label: string) {
  const workers = Array.from({ length: workerCount }, (_, i) => `engine-calls-${tag}-w${i}`);
  const runtimes = workers.map((w) => new DockerRuntime(docker, w));
  const stop = new AbortController();
  const following = workers.map((workerId) =>
    followContainerEvents({
      docker,
      workerId,
      signal: stop.signal,
      onDie: () => {},
      log: (line) => progress(`${workerId}: ${line}`),
    }),
  );
  // Staggered, as ten daemons started at different moments list at different moments.
  const timers = runtimes.map((runtime, i) =>
    setTimeout(
      () => {
        const list = () => runtime.listOwn().catch(() => {});
        list();
        timers[i] = setInterval(list, DEFAULT_RECONCILE_INTERVAL_MS);
      },
      (i * DEFAULT_RECONCILE_INTERVAL_MS) / workerCount,
    ),
  );
  const spec = validateTaskSpec(
    { ...SLEEPER, labels: { [label.split('=')[0]!]: tag } },
    () => 'ec',
  );
  try {
    return await engineCpuMs(() =>
      startAll(count, concurrency, async (i) => {
        const runtime = runtimes[i % workerCount]!;
        const { task } = newTask(`ec-${tag}-${i}`, spec, 'bench');
        const { containerId } = await runtime.createAndStart(task);
        await runtime.inspectExit(containerId);
      }),
    );
  } finally {
    for (const timer of timers) clearTimeout(timer);
    stop.abort();
    await Promise.all(following);
  }
}

async function main() {
  const host = await machine();
  const split = splitCpus();
  if (split) benchOnSplit(split, 'bench:engine-calls');
  const runs: { kind: 'raw' | 'cube'; perSecond: number; engineMsPerContainer: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['raw', 'cube'] as const) {
      const tag = randomBytes(4).toString('hex');
      const label = `cube-bench.raw=${tag}`;
      progress(
        `round ${r + 1}/${rounds}, ${kind}: ${count} containers, ${concurrency} at a time ...`,
      );
      try {
        const { ms, secs } =
          kind === 'raw'
            ? await engineCpuMs(() => rawRate(count, concurrency, label))
            : await cubeRound(tag, label);
        runs.push({
          kind,
          perSecond: round(count / secs, 2),
          engineMsPerContainer: round(ms / count, 1),
        });
        progress(
          `  ${runs.at(-1)!.perSecond}/s, engine ${runs.at(-1)!.engineMsPerContainer} ms CPU per container`,
        );
      } finally {
        progress(`  removed ${await removeAllLabelled(label, count)}`);
      }
    }
  }
  const of = (kind: 'raw' | 'cube') => runs.filter((run) => run.kind === kind);
  const summary = (kind: 'raw' | 'cube') => ({
    perSecond: round(mean(of(kind).map((run) => run.perSecond)), 2),
    engineMsPerContainer: round(mean(of(kind).map((run) => run.engineMsPerContainer)), 1),
  });
  const raw = summary('raw');
  const cube = summary('cube');
  const result = {
    benchmark: 'engine-calls',
    date: new Date().toISOString(),
    machine: host,
    containers: count,
    concurrency,
    workers: workerCount,
    cpus: split ?? 'shared',
    runs,
    raw,
    cube,
    rateRatio: round(cube.perSecond / raw.perSecond, 2),
    engineCpuRatio: round(cube.engineMsPerContainer / raw.engineMsPerContainer, 2),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  console.log(
    `\n${count} containers per run, ${concurrency} at a time; engine on CPUs ${split?.host ?? 'all'}`,
  );
  process.stdout.write(
    formatTable(
      ['run', 'calls', 'starts/s', 'engine ms CPU per container'],
      runs.map((run, i) => [
        String(i + 1),
        run.kind,
        String(run.perSecond),
        String(run.engineMsPerContainer),
      ]),
    ),
  );
  console.log(
    `mean raw ${raw.perSecond}/s, ${raw.engineMsPerContainer} ms; Cube's calls ${cube.perSecond}/s, ` +
      `${cube.engineMsPerContainer} ms: rate ${result.rateRatio}x, engine CPU ${result.engineCpuRatio}x` +
      `\nmachine: ${JSON.stringify(host)}`,
  );
}

main().catch((error) => {
  console.error(`bench:engine-calls failed: ${(error as Error).message}`);
  process.exit(1);
});
