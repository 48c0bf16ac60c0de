// Workers and task specs for the scheduler's unit tests.
import type { TaskSpec, WorkerMetrics, WorkerRecord } from '../../core/types.js';

export const GiB = 1024 ** 3;
export const NOW = new Date('2026-05-01T12:00:00.000Z');
export const ctxAt = (extra: object = {}) => ({ now: NOW, heartbeatTtlMs: 30_000, ...extra });

export function worker(id: string, over: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    id,
    name: `n-${id}`,
    labels: {},
    state: 'READY',
    cordoned: false,
    capacity: { cpuMillis: 4000, memoryBytes: 8 * GiB, diskBytes: 100 * GiB },
    allocated: { cpuMillis: 0, memoryBytes: 0, diskBytes: 0, tasks: 0 },
    queueUrl: `q-${id}`,
    registeredAt: NOW.toISOString(),
    heartbeatAt: new Date(NOW.getTime() - 1000).toISOString(),
    ...over,
  };
}

/** A heartbeat's host figures: a 4-core, 8 GiB host, lightly loaded. */
export function metrics(over: Partial<WorkerMetrics> = {}): WorkerMetrics {
  return {
    at: new Date().toISOString(),
    cpuCores: 4,
    cpuUsage: 0.1,
    load1: 0.2,
    memTotalBytes: 8 * GiB,
    memAvailableBytes: 7 * GiB,
    diskTotalBytes: 100 * GiB,
    diskFreeBytes: 90 * GiB,
    runningTasks: 0,
    ...over,
  };
}

export function task(over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name: 't',
    image: 'busybox',
    command: [],
    env: {},
    resources: { cpuMillis: 500, memoryBytes: GiB, diskBytes: 0 },
    ports: [],
    restart: { mode: 'never' },
    stopSignal: 'SIGTERM',
    stopTimeoutSeconds: 10,
    labels: {},
    network: 'none',
    ...over,
  };
}

export function allocated(cpuMillis: number, memoryBytes: number, tasks = 1, diskBytes = 0) {
  return { cpuMillis, memoryBytes, diskBytes, tasks };
}
