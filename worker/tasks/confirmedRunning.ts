// What this worker knows without asking: the containers it has seen running under their
// RUNNING record (it wrote that record itself, or a reconcile pass read it). The light
// reconcile pass reads a record only for a container that is not in here, or that left it,
// so a task this worker started and stopped itself costs it no extra read (bench:cost).
import type { WorkerContext } from './workerContext.js';

/** Per worker: `taskId/attempt` -> container id. */
const confirmedRunning = new WeakMap<WorkerContext, Map<string, string>>();

export const confirmedKey = (taskId: string, attempt: number) => `${taskId}/${attempt}`;

/** Undefined until the worker's first full reconcile pass has filled it. */
export const confirmedOf = (ctx: WorkerContext) => confirmedRunning.get(ctx);

export function setConfirmed(ctx: WorkerContext, confirmed: Map<string, string>): void {
  confirmedRunning.set(ctx, confirmed);
}

/** This worker just wrote RUNNING for the container. */
export function confirmRunning(
  ctx: WorkerContext,
  taskId: string,
  attempt: number,
  containerId: string,
): void {
  confirmedRunning.get(ctx)?.set(confirmedKey(taskId, attempt), containerId);
}

/** This worker ended the attempt itself (stop, recorded exit): nothing left to check. */
export function forgetRunning(ctx: WorkerContext, taskId: string, attempt: number): void {
  confirmedRunning.get(ctx)?.delete(confirmedKey(taskId, attempt));
}
