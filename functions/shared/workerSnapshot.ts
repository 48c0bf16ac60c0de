// The workers a scheduler batch places against. Reading them is a full Scan of the workers
// table: at 2,000 workers that is ~1.3 MB, several pages and hundreds of read units per batch,
// and it dominated the batch's time (bench:scale). So a warm scheduler keeps the last
// snapshot for a few seconds, with its own reservations applied. Staleness is safe: every
// reservation is a conditional write (a lost race re-reads that one worker), and a task that
// fits nowhere in a cached snapshot is tried again against a fresh Scan before it is left
// PENDING (room freed by stopped tasks, new workers).
import { hostPortsOf, type TaskGroups } from '../../core/scheduler/index.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { Deps } from './deps.js';

/** Workers read once per batch; reservations made in the batch are applied to it locally. */
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

let cached: { table: string; workers: WorkerRecord[]; at: number } | undefined;

export async function workerSnapshot(deps: Deps, now = Date.now()): Promise<WorkerSnapshot> {
  const maxAge = snapshotMaxAgeMs();
  const scan = async () => {
    const workers = await deps.workers.list();
    cached = { table: deps.config.workersTable, workers, at: Date.now() };
    return workers;
  };
  const fresh = cached?.table === deps.config.workersTable && now - cached.at < maxAge;
  if (maxAge > 0 && cached && fresh) {
    return { workers: cached.workers, refresh: scan };
  }
  return { workers: await scan() };
}

/** Keeps the batch's view (its reservations, the workers it re-read) for the next batch. */
export function keepSnapshot(snapshot: WorkerSnapshot): void {
  if (cached) cached.workers = snapshot.workers;
}

/** Applies a reservation just written to the snapshot, so later placements see it. */
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
