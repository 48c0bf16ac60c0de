// One lock per task inside this process: two copies of a message, the events stream and the
// local reconciler never act on the same task at the same time. Across processes the
// version check of every transition (and Docker's unique container names) keep them honest.

export class TaskLocks {
  private readonly tails = new Map<string, Promise<void>>();

  isHeld(taskId: string): boolean {
    return this.tails.has(taskId);
  }

  /** Runs `fn` once every earlier holder of the task's lock is done. */
  async withLock<T>(taskId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(taskId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(taskId, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(taskId) === tail) this.tails.delete(taskId);
    }
  }

  /** Runs `fn` only when nobody holds the task's lock; `undefined` means it was busy. */
  async tryWithLock<T>(taskId: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.isHeld(taskId)) return undefined;
    return this.withLock(taskId, fn);
  }
}
