// Task groups, for spreading: tasks that belong together (replicas of one service) share
// a group, named by the task label `cube.group` or else by the task name. The caller counts
// where each group's placed tasks are once per batch (`TaskGroups.fromTasks`) and records
// every placement it makes (`add`), so the spread scorer sees its own burst.
import type { TaskSpec, WorkerRecord } from '../types.js';

export const GROUP_LABEL = 'cube.group';
/** Task label naming the worker label to spread over; `zone` when absent. */
export const SPREAD_BY_LABEL = 'cube.spread-by';
export const DEFAULT_SPREAD_KEY = 'zone';

export function groupOf(spec: Pick<TaskSpec, 'labels' | 'name'>): string {
  return spec.labels[GROUP_LABEL] ?? spec.name;
}

export function spreadKeyOf(spec: Pick<TaskSpec, 'labels'>): string {
  return spec.labels[SPREAD_BY_LABEL] ?? DEFAULT_SPREAD_KEY;
}

interface Holding {
  count: number;
  labels: Readonly<Record<string, string>>;
}

type WorkerRef = Pick<WorkerRecord, 'id' | 'labels'>;

export class TaskGroups {
  readonly #groups = new Map<string, Map<string, Holding>>();

  /**
   * Counts placed tasks (those with a worker) per group and worker. Workers not in
   * `workers` are skipped: a task on a worker that is gone spreads nothing.
   */
  static fromTasks(
    tasks: Iterable<{ spec: TaskSpec; workerId?: string }>,
    workers: Iterable<WorkerRef>,
  ): TaskGroups {
    const byId = new Map<string, WorkerRef>();
    for (const w of workers) byId.set(w.id, w);
    const groups = new TaskGroups();
    for (const t of tasks) {
      const worker = t.workerId === undefined ? undefined : byId.get(t.workerId);
      if (worker) groups.add(groupOf(t.spec), worker);
    }
    return groups;
  }

  add(group: string, worker: WorkerRef, n = 1): void {
    let holdings = this.#groups.get(group);
    if (holdings === undefined) {
      holdings = new Map();
      this.#groups.set(group, holdings);
    }
    const h = holdings.get(worker.id);
    if (h === undefined) holdings.set(worker.id, { count: n, labels: worker.labels });
    else h.count += n;
  }

  /** Tasks of the group on one worker. */
  onWorker(group: string, workerId: string): number {
    return this.#groups.get(group)?.get(workerId)?.count ?? 0;
  }

  /** Tasks of the group per value of the worker label `key` (workers without it skipped). */
  byLabel(group: string, key: string): Map<string, number> {
    const out = new Map<string, number>();
    const holdings = this.#groups.get(group);
    if (holdings === undefined) return out;
    for (const h of holdings.values()) {
      const value = h.labels[key];
      if (value !== undefined) out.set(value, (out.get(value) ?? 0) + h.count);
    }
    return out;
  }
}
