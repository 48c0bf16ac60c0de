// Whether a benchmark's load made the control plane take a live worker for lost: the worker
// `down` events of the run (the reconciler writes one per DOWN decision, for silence or for a
// placement never answered) set against when each worker's process actually exited. A DOWN
// of a worker whose process was still running is a false one. Alongside, the closest call: the
// oldest heartbeat a poll of `GET /v1/nodes` saw, against the silence the reconciler allows.
import type { ChildProcess } from 'node:child_process';
import { heartbeatTtlFor } from '../../core/heartbeat.js';
import type { ClusterEvent } from '../../core/history/events.js';
import type { WorkerRecord } from '../../core/types.js';

/** When each worker process (by worker name) exited, if it did. */
export class WorkerProcesses {
  private readonly exitedAt = new Map<string, number>();
  private readonly names = new Set<string>();

  track(name: string, child: ChildProcess): void {
    this.names.add(name);
    child.once('exit', () => this.exitedAt.set(name, Date.now()));
  }

  /** Whether the process of worker `name` was running at `at` (ms since epoch). */
  aliveAt(name: string, at: number): boolean {
    if (!this.names.has(name)) return false;
    const exited = this.exitedAt.get(name);
    return exited === undefined || exited > at;
  }
}

export interface DownEvent {
  worker: string;
  at: string;
  reason?: string;
  /** Its process was running when it was marked DOWN. */
  alive: boolean;
}

export interface WorkersDownFigures {
  /** Worker `down` events of the bench's workers during the run. */
  markedDown: number;
  /** Of those, workers whose process was running: false DOWNs (the target is 0). */
  liveMarkedDown: number;
  events: DownEvent[];
}

/** Counts the DOWN decisions about `workers` (id -> name) since `since`, through the API. */
export async function workersMarkedDown(
  events: (query: string) => Promise<{ events: ClusterEvent[]; nextToken?: string }>,
  since: Date,
  workers: ReadonlyMap<string, string>,
  processes: WorkerProcesses,
): Promise<WorkersDownFigures> {
  const found: DownEvent[] = [];
  let nextToken: string | undefined;
  do {
    const query = new URLSearchParams({ kind: 'worker', since: since.toISOString(), limit: '500' });
    if (nextToken) query.set('nextToken', nextToken);
    const page = await events(query.toString());
    for (const e of page.events) {
      const name = e.workerId ? workers.get(e.workerId) : undefined;
      if (e.action !== 'down' || !name) continue;
      found.push({
        worker: name,
        at: e.at,
        ...(e.reason ? { reason: e.reason } : {}),
        alive: processes.aliveAt(name, Date.parse(e.at)),
      });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return {
    markedDown: found.length,
    liveMarkedDown: found.filter((e) => e.alive).length,
    events: found,
  };
}

/**
 * The largest share of its allowed silence any READY worker had used when a poll saw it:
 * heartbeat age / the reconciler's TTL for it (core/heartbeat.ts). 1 or more is a DOWN.
 */
export class HeartbeatMargin {
  worstAgeMs = 0;
  worstShare = 0;

  constructor(private readonly baseTtlMs: number) {}

  observe(nodes: readonly WorkerRecord[], now = Date.now()): void {
    for (const n of nodes) {
      if (n.state !== 'READY') continue;
      const ageMs = now - Date.parse(n.heartbeatAt);
      const share = ageMs / heartbeatTtlFor(this.baseTtlMs, n.heartbeatIntervalMs);
      if (share > this.worstShare) {
        this.worstShare = share;
        this.worstAgeMs = ageMs;
      }
    }
  }
}
