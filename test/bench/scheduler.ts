// `npm run bench:scheduler`: 10,000 tasks of mixed sizes placed in-process onto 1,000, 5,000
// and 10,000 simulated workers with each built-in policy, on one core. Prints placements/s,
// p99 decision time, peak heap and placement quality; large fleets are run twice, scoring
// every worker ("full") and the production sample (`candidateLimitFor`), and the quality
// difference is printed. Nothing is asserted.
//   --json            one JSON object { results: [...] }
//   --workers 5000    fleet sizes (comma-separated)
//   --policies a,b    policies (default: every built-in but epvm-live, which without
//                     measured metrics on simulated workers is epvm)
//   --tasks N         tasks per run (default 10000)
//   --sample K        candidate limit for the sampled runs (default: candidateLimitFor)
//   --full-up-to N    largest fleet also scored in full, for the quality comparison
//                     (default 5000; full scoring of 10,000 workers takes minutes)
import { parseArgs } from 'node:util';
import {
  BUILTIN_POLICIES,
  candidateLimitFor,
  groupOf,
  hostPortsOf,
  type PlacementContext,
  placeTask,
  TaskGroups,
} from '../../core/scheduler/index.js';
import type { TaskSpec, WorkerRecord } from '../../core/types.js';
import { makeTasks, makeWorkers, measureQuality, type Quality } from './schedulerFleet.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1000,5000,10000' },
    policies: { type: 'string' },
    tasks: { type: 'string', default: '10000' },
    sample: { type: 'string' },
    'full-up-to': { type: 'string', default: '5000' },
  },
});

interface Result extends Quality {
  policy: string;
  workers: number;
  tasks: number;
  /** 'full' scores every feasible worker; 'sampled' the first candidateLimit found. */
  mode: 'full' | 'sampled';
  candidateLimit: number | null;
  placementsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakHeapMb: number;
  placedShare: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function reserve(worker: WorkerRecord, task: TaskSpec): void {
  const a = worker.allocated;
  const r = task.resources;
  // Fresh object, as the store's snapshot does: placeTask never mutates its input.
  worker.allocated = {
    cpuMillis: a.cpuMillis + r.cpuMillis,
    memoryBytes: a.memoryBytes + r.memoryBytes,
    diskBytes: a.diskBytes + r.diskBytes,
    tasks: a.tasks + 1,
  };
  const ports = hostPortsOf(task);
  if (ports.length > 0) worker.usedPorts = [...(worker.usedPorts ?? []), ...ports];
}

function run(policy: string, nWorkers: number, tasks: TaskSpec[], limit?: number): Result {
  const now = new Date();
  const workers = makeWorkers(nWorkers, now);
  const groups = new TaskGroups();
  const groupZones = new Map<string, Map<string, number>>();
  const ctx: PlacementContext = {
    now,
    heartbeatTtlMs: 60_000,
    roundRobin: {},
    taskGroups: groups,
    ...(limit !== undefined ? { candidateLimit: limit } : {}),
  };
  const times = new Float64Array(tasks.length);
  gc?.();
  let peak = process.memoryUsage().heapUsed;
  let placed = 0;
  const start = performance.now();
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    const t0 = performance.now();
    const d = placeTask(task, workers, policy, ctx);
    times[i] = performance.now() - t0;
    if (d.worker) {
      placed++;
      reserve(d.worker, task);
      const group = groupOf(task);
      groups.add(group, d.worker);
      const zones = groupZones.get(group) ?? new Map<string, number>();
      const zone = d.worker.labels.zone!;
      zones.set(zone, (zones.get(zone) ?? 0) + 1);
      groupZones.set(group, zones);
    }
    if ((i & 255) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const elapsed = performance.now() - start;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  times.sort();
  const at = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)]!;
  return {
    policy,
    workers: nWorkers,
    tasks: tasks.length,
    mode: limit === undefined ? 'full' : 'sampled',
    candidateLimit: limit ?? null,
    placementsPerSec: Math.round(tasks.length / (elapsed / 1000)),
    p50Ms: round(at(0.5), 4),
    p99Ms: round(at(0.99), 4),
    peakHeapMb: round(peak / 1024 ** 2, 1),
    placedShare: round(placed / tasks.length, 4),
    ...roundAll(measureQuality(workers, groupZones)),
  };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const roundAll = (q: Quality): Quality =>
  Object.fromEntries(Object.entries(q).map(([k, v]) => [k, round(v, 4)])) as unknown as Quality;

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function printTable(results: Result[]): void {
  const head = [
    'POLICY',
    'WORKERS',
    'MODE',
    'PLACED/S',
    'P50 MS',
    'P99 MS',
    'HEAP MB',
    'PLACED',
    'UTIL',
    'UTIL SD',
    'USED',
    'FRAG',
    'ZONE SKEW',
  ];
  const rows = results.map((r) => [
    r.policy,
    String(r.workers),
    r.mode === 'full' ? 'full' : `k=${r.candidateLimit}`,
    r.placementsPerSec.toLocaleString('en-US'),
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.peakHeapMb.toFixed(0),
    pct(r.placedShare),
    pct(r.meanUtil),
    pct(r.utilSpread),
    pct(r.workersUsed),
    pct(r.fragmentation),
    r.zoneSkew.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}

interface QualityLoss {
  policy: string;
  workers: number;
  candidateLimit: number;
  speedup: number;
  placedShare: number;
  meanUtil: number;
  utilSpread: number;
  fragmentation: number;
  zoneSkew: number;
}

/** Sampled minus full, per metric, for each policy and fleet run both ways. */
function qualityLoss(results: Result[]): QualityLoss[] {
  const out: QualityLoss[] = [];
  for (const s of results.filter((r) => r.mode === 'sampled')) {
    const f = results.find(
      (r) => r.mode === 'full' && r.policy === s.policy && r.workers === s.workers,
    );
    if (!f) continue;
    out.push({
      policy: s.policy,
      workers: s.workers,
      candidateLimit: s.candidateLimit!,
      speedup: round(s.placementsPerSec / f.placementsPerSec, 1),
      placedShare: round(s.placedShare - f.placedShare, 4),
      meanUtil: round(s.meanUtil - f.meanUtil, 4),
      utilSpread: round(s.utilSpread - f.utilSpread, 4),
      fragmentation: round(s.fragmentation - f.fragmentation, 4),
      zoneSkew: round(s.zoneSkew - f.zoneSkew, 2),
    });
  }
  return out;
}

function main(): void {
  const fleets = args.workers!.split(',').map(Number);
  const policies =
    args.policies?.split(',') ??
    BUILTIN_POLICIES.map((p) => p.name).filter((name) => name !== 'epvm-live');
  const fullUpTo = Number(args['full-up-to']);
  const tasks = makeTasks(Number(args.tasks));
  const results: Result[] = [];
  const began = performance.now();
  // Warm the JIT on a small fleet so the first measured policy is not penalised.
  for (const p of policies) run(p, 200, tasks.slice(0, 2000));
  for (const n of fleets) {
    for (const policy of policies) {
      const limit = args.sample ? Number(args.sample) : candidateLimitFor(n, policy);
      if (limit === undefined || n <= fullUpTo) results.push(run(policy, n, tasks));
      if (limit !== undefined) results.push(run(policy, n, tasks, limit));
      if (!args.json) process.stderr.write('.');
    }
  }
  if (!args.json) process.stderr.write('\n');
  const loss = qualityLoss(results);
  const seconds = round((performance.now() - began) / 1000, 1);
  if (args.json) {
    console.log(
      JSON.stringify(
        { node: process.version, seconds, results, samplingQualityLoss: loss },
        null,
        2,
      ),
    );
    return;
  }
  console.log(
    `Scheduler benchmark: ${tasks.length} tasks per run, one core, node ${process.version}\n`,
  );
  printTable(results);
  if (loss.length > 0) {
    console.log(
      '\nSampling vs full scoring (sampled − full; positive FRAG/SKEW/UTIL SD = worse for bin-pack/spread):',
    );
    for (const l of loss) {
      console.log(
        `  ${l.policy.padEnd(16)} ${String(l.workers).padStart(6)} workers, k=${l.candidateLimit}: ` +
          `${l.speedup}× faster; placed ${signedPct(l.placedShare)}, util ${signedPct(l.meanUtil)}, ` +
          `util sd ${signedPct(l.utilSpread)}, frag ${signedPct(l.fragmentation)}, zone skew ${l.zoneSkew >= 0 ? '+' : ''}${l.zoneSkew}`,
      );
    }
  }
  console.log(`\n${seconds} s in all`);
}

function signedPct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}pt`;
}

main();
