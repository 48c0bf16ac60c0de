// One timer per task with a planned restart, fired when the restart is due. Timers live only
// in this process: a worker that stops cancels them, and the reconciler (or this worker's next
// start, see adoptPlannedRestarts) carries out what they would have done.
import { backoffDelay } from '../timing.js';

export class RestartTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly fire: (taskId: string) => Promise<void>,
    private readonly track: (work: Promise<unknown>, what: string) => void,
  ) {}

  has(taskId: string): boolean {
    return this.timers.has(taskId);
  }

  /** Fires after `delayMs`, replacing any earlier timer of the task. */
  schedule(taskId: string, delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(taskId));
    const timer = setTimeout(
      () => {
        this.timers.delete(taskId);
        this.track(this.fire(taskId), `restart of task ${taskId}`);
      },
      Math.max(0, delayMs),
    );
    this.timers.set(taskId, timer);
  }

  /** The restart could not be carried out (control plane unreachable): try again, backing off. */
  retryLater(taskId: string): void {
    const failures = (this.failures.get(taskId) ?? 0) + 1;
    this.failures.set(taskId, failures);
    this.schedule(taskId, Math.max(200, backoffDelay(failures, 500, 15_000)));
  }

  succeeded(taskId: string): void {
    this.failures.delete(taskId);
  }

  cancelAll(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
