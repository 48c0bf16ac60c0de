// Waiting, timeouts and backoff for the daemon's loops, all cancellable by an AbortSignal.

/** Resolves after `ms`, or at once (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The promise's value, or `fallback` when it takes longer than `ms` (or fails). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise.catch(() => fallback), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** "Full jitter" exponential backoff: a random delay in [0, min(max, base * 2^attempt)]. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}

/**
 * Runs `work` until it succeeds or the signal aborts, with jittered backoff between tries:
 * for writes that must not be lost while the control plane is unreachable. Logs the first
 * failure of a streak only.
 */
export async function retryUntilDone(
  work: () => Promise<unknown>,
  options: { signal: AbortSignal; log: (line: string) => void; what: string },
): Promise<void> {
  for (let failures = 0; !options.signal.aborted; failures++) {
    try {
      await work();
      if (failures > 0) options.log(`${options.what}: done after ${failures + 1} tries`);
      return;
    } catch (error) {
      if (failures === 0) {
        options.log(`${options.what} failed, retrying: ${(error as Error).message}`);
      }
      await sleep(Math.max(100, backoffDelay(failures + 1, 250, 10_000)), options.signal);
    }
  }
}
