// The workers a placement decides against. Reading them is a full Scan of the workers
// table: at 2,000 workers that is ~1.3 MB, several pages and hundreds of read units per batch,
// and it dominated the batch's time (bench:scale). So a warm process keeps one view of the
// fleet for a few seconds, with its own reservations applied. Staleness is safe: every
// reservation is a conditional write (a lost race re-reads that one worker), and a task that
// fits nowhere in a cached view is tried again against a fresh Scan before it is left
// PENDING (room freed by stopped tasks, new workers).
//
// There is ONE view per process, shared by every placement in it (parallel submits and
// scheduler batches; `cube up` runs both). A snapshot reads and writes that view, so each
// placement sees every reservation made before it in this process, including those whose
// write is still in flight. With a copy per request, parallel submits decided on the same
// figures and all chose the same worker (bench:throughput: 8 to 129 tasks on ten identical
// workers), and writing a copy back lost the reservations made meanwhile.
import { hostPortsOf, type TaskGroups } from '../../core/scheduler/index.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { Deps } from './deps.js';

type SnapshotDeps = Pick<Deps, 'config' | 'workers'>;

/** The workers to place against, with the reservations made so far applied. */
export interface WorkerSnapshot {
  workers: WorkerRecord[];
  /** Where task groups are, counted on first need in the batch (spread policies only). */
  groups?: TaskGroups;
  /** Set when `workers` is a cached view: reads them afresh (see workerSnapshot.ts). */
  refresh?: () => Promise<WorkerRecord[]>;
}

/** `CUBE_SCHEDULER_SNAPSHOT_MS`: how long a snapshot is reused; 0 scans on every batch. */
export function snapshotMaxAgeMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.CUBE_SCHEDULER_SNAPSHOT_MS);
  return env.CUBE_SCHEDULER_SNAPSHOT_MS !== undefined && Number.isFinite(value) && value >= 0
    ? value
    : 5_000;
}

interface View {
  table: string;
  workers: WorkerRecord[];
  at: number;
}
let view: View | undefined;
let scanning: { table: string; done: Promise<View> } | undefined;

/** Scans the workers table into a new view; parallel callers share one scan. */
function scan(deps: SnapshotDeps): Promise<View> {
  const table = deps.config.workersTable;
  if (scanning?.table === table) return scanning.done;
  const done = deps.workers
    .list()
    .then((workers) => {
      view = { table, workers, at: Date.now() };
      return view;
    })
    .finally(() => {
      if (scanning?.done === done) scanning = undefined;
    });
  scanning = { table, done };
  return done;
}

/** A snapshot that is the view: reading sees its latest workers, assigning updates it. */
function snapshotOf(shared: View, deps: SnapshotDeps): WorkerSnapshot {
  return {
    get workers() {
      return shared.workers;
    },
    set workers(workers: WorkerRecord[]) {
      shared.workers = workers;
    },
    refresh: async () => {
      shared.workers = (await scan(deps)).workers;
      return shared.workers;
    },
  };
}

export async function workerSnapshot(
  deps: SnapshotDeps,
  now = Date.now(),
): Promise<WorkerSnapshot> {
  const maxAge = snapshotMaxAgeMs();
  if (maxAge === 0) return { workers: await deps.workers.list() };
  const fresh = view?.table === deps.config.workersTable && now - view.at < maxAge;
  return snapshotOf(fresh && view ? view : await scan(deps), deps);
}

/** Applies a reservation (made or about to be) to the snapshot, so later placements see it. */
export function applyReservation(snapshot: WorkerSnapshot, task: TaskRecord): void {
  const worker = snapshot.workers.find((w) => w.id === task.workerId);
  if (!worker) return;
  const r = task.spec.resources;
  const allocated = {
    cpuMillis: worker.allocated.cpuMillis + r.cpuMillis,
    memoryBytes: worker.allocated.memoryBytes + r.memoryBytes,
    diskBytes: worker.allocated.diskBytes + r.diskBytes,
    tasks: worker.allocated.tasks + 1,
  };
  const ports = hostPortsOf(task.spec);
  const usedPorts =
    ports.length > 0 ? [...(worker.usedPorts ?? []), ...ports].sort() : worker.usedPorts;
  const next: WorkerRecord = { ...worker, allocated, ...(usedPorts ? { usedPorts } : {}) };
  snapshot.workers = snapshot.workers.map((w) => (w.id === worker.id ? next : w));
}

/** The workers with one of them swapped for a fresh read (dropped when it is gone). */
export function replaceWorker(
  workers: WorkerRecord[],
  id: string,
  fresh: WorkerRecord | undefined,
): WorkerRecord[] {
  const rest = workers.filter((w) => w.id !== id);
  return fresh ? [...rest, fresh] : rest;
}
