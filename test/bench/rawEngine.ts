// The engine measured alone: N containers created and started over the Engine API, C at a
// time, then removed; with a watchdog for an engine that stops answering. Shared by
// bench:throughput (the yardstick) and bench:engine-calls (the baseline).
import { docker, TEST_IMAGE } from '../support/docker.js';
import { removeLabelled, SLEEPER_HOST_CONFIG } from './benchSupport.js';

/** Runs `fn` over `items`, `limit` at a time. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** No container started (or removed) for this long: the engine has stopped answering. */
const ENGINE_STALL_MS = 120_000;

/**
 * Rejects once `count()` has not moved for ENGINE_STALL_MS. Docker 20.10 can deadlock under
 * many cycling containers (moby/moby#46661; seen here while starting and removing the raw
 * containers, and while Cube's workers stopped theirs): say so instead of waiting forever.
 */
function engineWatch(what: 'started' | 'stopped' | 'removed', count: () => number, total: number) {
  let last = count();
  let movedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (count() !== last) {
        last = count();
        movedAt = Date.now();
        return;
      }
      if (Date.now() - movedAt < ENGINE_STALL_MS) return;
      clearInterval(timer);
      const why =
        `the engine ${what} no container for ${ENGINE_STALL_MS / 1000} s (${last}/${total} ` +
        `${what}); if \`docker info\` hangs too, dockerd is deadlocked: restart it ` +
        '(docs/BENCHMARKS.md, Throughput)';
      // Said at once: the cleanup that follows may hang on the same engine.
      process.stderr.write(`bench: ${why}\n`);
      reject(new Error(why));
    }, 5_000);
  });
  return { stalled, stop: () => clearInterval(timer) };
}

/** Waits for `work`, rejecting instead once `count()` stalls (engineWatch). */
export async function watched<T>(
  what: Parameters<typeof engineWatch>[0],
  count: () => number,
  total: number,
  work: Promise<T>,
): Promise<T> {
  const watch = engineWatch(what, count, total);
  try {
    return await Promise.race([work, watch.stalled]);
  } finally {
    watch.stop();
  }
}

/** Starts `n` containers with `start`, `concurrency` at a time, under the stall watchdog. */
export async function startAll(
  n: number,
  concurrency: number,
  start: (i: number) => Promise<void>,
) {
  let started = 0;
  const starts = pool([...Array(n).keys()], concurrency, async (i) => {
    await start(i);
    started++;
  });
  await watched('started', () => started, n, starts);
}

/** The engine's own rate: create+start of n containers, `concurrency` at a time. */
export async function rawRate(n: number, concurrency: number, label: string): Promise<number> {
  const [key, value] = label.split('=') as [string, string];
  const start = performance.now();
  await startAll(n, concurrency, async () => {
    const container = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { [key]: value },
      HostConfig: SLEEPER_HOST_CONFIG,
    });
    await container.start();
  });
  return n / ((performance.now() - start) / 1000);
}

/** Removes every container with the label, under the stall watchdog; returns how many. */
export async function removeAllLabelled(label: string, total: number): Promise<number> {
  let removed = 0;
  return watched(
    'removed',
    () => removed,
    total,
    removeLabelled(label, () => removed++),
  );
}
