// The simulated fleet and workload of the scheduler benchmark, and how a placement's
// quality is measured. Seeded, so every policy faces exactly the same workers and tasks.
import type { TaskSpec, WorkerRecord } from '../../core/types.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
export const ZONES = ['a', 'b', 'c', 'd'];

/** mulberry32: tiny, fast, good enough to make a workload. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHAPES = [
  { cpuMillis: 2000, memoryBytes: 4 * GiB },
  { cpuMillis: 4000, memoryBytes: 16 * GiB },
  { cpuMillis: 8000, memoryBytes: 32 * GiB },
  { cpuMillis: 16000, memoryBytes: 64 * GiB },
];

export function makeWorkers(n: number, now: Date, seed = 1): WorkerRecord[] {
  const r = rng(seed);
  const at = now.toISOString();
  return Array.from({ length: n }, (_, i) => {
    const shape = SHAPES[Math.floor(r() * SHAPES.length)]!;
    return {
      id: `w${String(i).padStart(5, '0')}`,
      name: `worker-${i}`,
      labels: { zone: ZONES[i % ZONES.length]!, ...(r() < 0.1 ? { gpu: '1' } : {}) },
      state: 'READY',
      cordoned: false,
      // Written out field by field, like the store's toWorkerRecord: a spread copies the
      // source's hidden class and made the hot loop ten times slower here.
      capacity: {
        cpuMillis: shape.cpuMillis,
        memoryBytes: shape.memoryBytes,
        diskBytes: 100 * GiB,
      },
      allocated: { cpuMillis: 0, memoryBytes: 0, diskBytes: 0, tasks: 0 },
      queueUrl: '',
      registeredAt: at,
      heartbeatAt: at,
    };
  });
}

function spec(over: Partial<TaskSpec> & Pick<TaskSpec, 'resources'>): TaskSpec {
  return {
    name: 'bench',
    image: 'busybox',
    command: [],
    env: {},
    ports: [],
    restart: { mode: 'never' },
    labels: {},
    network: 'none',
    stopSignal: 'SIGTERM',
    stopTimeoutSeconds: 10,
    ...over,
  };
}

/**
 * 60% small (0.1–0.5 core, 128–512 MiB), 30% medium (1–2 cores, 1–4 GiB), 10% large (4
 * cores, 8–16 GiB); 200 groups of replicas; 5% bind a host port, 10% are constrained to two
 * zones, 2% need a gpu worker.
 */
export function makeTasks(n: number, seed = 2): TaskSpec[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const kind = r();
    const resources =
      kind < 0.6
        ? {
            cpuMillis: 100 * (1 + Math.floor(r() * 5)),
            memoryBytes: 128 * MiB * (1 + Math.floor(r() * 4)),
            diskBytes: 0,
          }
        : kind < 0.9
          ? {
              cpuMillis: 1000 * (1 + Math.floor(r() * 2)),
              memoryBytes: GiB * (1 + Math.floor(r() * 4)),
              diskBytes: 0,
            }
          : { cpuMillis: 4000, memoryBytes: 8 * GiB * (1 + Math.floor(r() * 2)), diskBytes: 0 };
    const extra = r();
    const group = `svc-${i % 200}`;
    return spec({
      name: group,
      resources,
      labels: { 'cube.group': group },
      ...(extra < 0.05
        ? { network: 'host', ports: [{ container: 8000 + (i % 20), protocol: 'tcp' }] }
        : extra < 0.15
          ? { constraints: ['zone in (a,b)'] }
          : extra < 0.17
            ? { constraints: ['gpu exists'] }
            : {}),
    });
  });
}

export interface Quality {
  /** Mean over workers of their mean cpu/memory allocation share. */
  meanUtil: number;
  /** Standard deviation of that share across workers (low: even; high: packed). */
  utilSpread: number;
  /** Share of workers holding at least one task. */
  workersUsed: number;
  /**
   * 1 − (2-core/4-GiB tasks the free room can still take) / (what it could take pooled):
   * how much free capacity is stranded in pieces too small to use.
   */
  fragmentation: number;
  /** Mean over groups of (most − fewest tasks in a zone): 0 is a perfect spread. */
  zoneSkew: number;
}

const REF = { cpuMillis: 2000, memoryBytes: 4 * GiB };

export function measureQuality(
  workers: readonly WorkerRecord[],
  groupZones: Map<string, Map<string, number>>,
): Quality {
  let sum = 0;
  let sumSq = 0;
  let used = 0;
  let fits = 0;
  let freeCpu = 0;
  let freeMem = 0;
  for (const w of workers) {
    const u =
      (w.allocated.cpuMillis / w.capacity.cpuMillis +
        w.allocated.memoryBytes / w.capacity.memoryBytes) /
      2;
    sum += u;
    sumSq += u * u;
    if (w.allocated.tasks > 0) used++;
    const fc = w.capacity.cpuMillis - w.allocated.cpuMillis;
    const fm = w.capacity.memoryBytes - w.allocated.memoryBytes;
    freeCpu += fc;
    freeMem += fm;
    fits += Math.floor(Math.min(fc / REF.cpuMillis, fm / REF.memoryBytes));
  }
  const n = workers.length;
  const mean = sum / n;
  const pooled = Math.floor(Math.min(freeCpu / REF.cpuMillis, freeMem / REF.memoryBytes));
  let skew = 0;
  for (const zones of groupZones.values()) {
    const counts = ZONES.map((z) => zones.get(z) ?? 0);
    skew += Math.max(...counts) - Math.min(...counts);
  }
  return {
    meanUtil: mean,
    utilSpread: Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    workersUsed: used / n,
    fragmentation: pooled === 0 ? 0 : 1 - fits / pooled,
    zoneSkew: groupZones.size === 0 ? 0 : skew / groupZones.size,
  };
}
