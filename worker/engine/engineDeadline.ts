// Every call into the engine has a bound: a hung dockerd (deadlocked, paused, its socket
// accepting and never answering) must not hold a start slot, a task lock or a stop forever.
// dockerode has no per-call timeout that spares the events stream, so each call is raced
// against its own bound; a call that loses is left to finish or fail on its own.

/** The engine did not answer in time; its call may still complete later. */
export class EngineTimeoutError extends Error {
  override name = 'EngineTimeoutError';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`the container engine did not answer ${what} within ${formatSeconds(ms)}`);
  }
}

const formatSeconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

/** Per-call bounds, generous enough for an engine busy with hundreds of starts (vfs). */
export const ENGINE_DEADLINES_MS = {
  /** The heartbeat's health probe: a healthy engine answers in milliseconds. */
  ping: 2_000,
  /** Container listings and inspects. */
  read: 30_000,
  /** create may copy the image's layers (vfs) and, on a 404, follows a pull (its own bound). */
  create: 120_000,
  /**
   * runc's work, the slowest call on a loaded host: bench:throughput at load average ~100 (40
   * starts at once on a vfs engine) had 75 of 1,000 starts past 60 s, each a task FAILED.
   */
  start: 180_000,
  remove: 60_000,
  exec: 30_000,
  /** Beyond the stop timeout the engine itself waits before SIGKILL. */
  stopMargin: 30_000,
} as const;

/** `work`'s outcome, or an EngineTimeoutError once `ms` have passed. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EngineTimeoutError(what, ms)), ms);
  });
  // The loser's rejection is nobody's to handle.
  work.catch(() => {});
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
