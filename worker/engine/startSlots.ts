// At most N container starts (create + start) at once on this worker. A burst of run messages
// would otherwise put every one of them into the engine together: in a 1,000-task burst onto
// 10 workers sharing one engine (320 starts at once) dockerd 20.10 hung for good.
export class StartSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`start concurrency must be a whole number >= 1, not ${limit}`);
    }
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      // The slot is handed over by the one that finishes (see below), so it stays counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
