// The worker's pulse: every interval, fresh host metrics written to its record. A heartbeat
// refused because the record is gone or DOWN means the control plane gave up on this worker:
// it registers again (same id) and carries on.
// Adaptive: a worker without tasks beats every `idleIntervalMs` (a minute) and says so on its
// record, so the reconciler waits 2.5 intervals before calling it lost; a worker with tasks
// beats every `intervalMs` (2 s), and at once when work arrives (`HeartbeatWaker`), so losing
// it is noticed within seconds. An idle worker costs 1 write a minute instead of 20.
import { loadavg } from 'node:os';
import { mem } from 'systeminformation/lib/memory.js';
import type { WorkerStore } from '../../aws/workerStore.js';
import { ConflictError } from '../../core/errors.js';
import type { EngineHealth, WorkerMetrics } from '../../core/types.js';
import { WorkerDisplacedError } from '../../core/workerInstance.js';
import { CpuUsage } from '../host/cpuUsage.js';
import { type FilesystemSize, filesystemOf } from '../host/hostCapacity.js';
import { backoffDelay, sleep, withTimeout } from '../timing.js';

/** systeminformation can be slow; a slow sample reuses the last value instead of waiting. */
const SAMPLE_TIMEOUT_MS = 1500;

/**
 * Host figures are read at most this often: a busy worker beats every 2 s, and the scheduler's
 * view of a host's load does not need to be fresher than this (its own snapshot is 5 s old).
 */
export const HOST_SAMPLE_MAX_AGE_MS = 10_000;

export class HostMetricsSampler {
  private readonly cpuUsage = new CpuUsage();
  private cpu = { cores: 0, usage: 0 };
  private memory = { total: 0, available: 0 };
  private disk: FilesystemSize | undefined;
  private sampledAt = Number.NEGATIVE_INFINITY;

  /** `diskPath` may still be being found (Docker's data root): a beat does not wait for it. */
  constructor(
    private readonly diskPath: string | Promise<string> = '/',
    private readonly maxAgeMs = HOST_SAMPLE_MAX_AGE_MS,
  ) {}

  /**
   * The first sample is waited for; later ones are refreshed in the background, so a slow read
   * of the host (up to 1.5 s on a loaded one) never delays a beat, nor swells the round trip the
   * worker declares (and the control plane multiplies into its TTL).
   */
  async sample(runningTasks: number, now = new Date()): Promise<WorkerMetrics> {
    if (now.getTime() - this.sampledAt >= this.maxAgeMs) {
      const first = this.sampledAt === Number.NEGATIVE_INFINITY;
      this.sampledAt = now.getTime();
      const refresh = this.sampleHost();
      if (first) await refresh;
    }
    return this.metrics(runningTasks, now);
  }

  private async sampleHost(): Promise<void> {
    this.cpu = this.cpuUsage.sample();
    const [memory, disk] = await Promise.all([
      withTimeout(mem(), SAMPLE_TIMEOUT_MS, undefined),
      withTimeout(
        Promise.resolve(this.diskPath)
          .then(filesystemOf)
          .catch(() => undefined),
        SAMPLE_TIMEOUT_MS,
        undefined,
      ),
    ]);
    if (memory) this.memory = { total: memory.total, available: memory.available };
    if (disk) this.disk = disk;
  }

  private metrics(runningTasks: number, now: Date): WorkerMetrics {
    return {
      at: now.toISOString(),
      cpuCores: this.cpu.cores,
      cpuUsage: this.cpu.usage,
      load1: loadavg()[0] ?? 0,
      memTotalBytes: this.memory.total,
      memAvailableBytes: this.memory.available,
      diskTotalBytes: this.disk?.totalBytes ?? 0,
      diskFreeBytes: this.disk?.freeBytes ?? 0,
      runningTasks,
    };
  }
}

/**
 * Lets the agent cut a heartbeat's sleep short (a run message arrived on an idle worker). Only
 * an idle-length sleep is cut: a busy worker beats every few seconds anyway, and waking it on
 * each run message made a write per task (bench:cost).
 */
export class HeartbeatWaker {
  private wakeUp: (() => void) | undefined;
  /** A wake that came while no one slept (mid-beat): the next sleep is skipped. */
  private pending = false;
  /** Time of the last wake: work counts as under way for an idle interval after it. */
  lastWokenAt = 0;
  /**
   * Set while the agent starts (events stream, startup reconcile), before its queue loop
   * receives: a run placed on it then waits unreceived, and a worker beating at the idle
   * minute would be taken for gone by the reconciler's unanswered-placement rule
   * (core/runResend.ts) after 20 s. Beating at the busy interval meanwhile says it is alive.
   */
  starting = false;

  /** Beat now; `work` (the default) also keeps the busy interval for an idle interval. */
  wake(work = true): void {
    if (work) this.lastWokenAt = Date.now();
    if (this.wakeUp) this.wakeUp();
    else this.pending = true;
  }

  sleep(ms: number, signal: AbortSignal, wakeable = true): Promise<void> {
    const woken = this.pending;
    this.pending = false;
    if (!wakeable) return sleep(ms, signal);
    if (woken) return Promise.resolve();
    const cut = new AbortController();
    this.wakeUp = () => cut.abort();
    const stop = () => cut.abort();
    signal.addEventListener('abort', stop, { once: true });
    return sleep(ms, cut.signal).finally(() => {
      signal.removeEventListener('abort', stop);
      this.wakeUp = undefined;
    });
  }
}

export interface HeartbeatOptions {
  workerId: string;
  workers: Pick<WorkerStore, 'heartbeat'>;
  intervalMs: number;
  /** Interval while the worker has no tasks; absent: always `intervalMs`. */
  idleIntervalMs?: number;
  waker?: HeartbeatWaker;
  sampler: Pick<HostMetricsSampler, 'sample'>;
  countRunningTasks: () => Promise<number>;
  /** The engine's latest answer to a ping (control/engineWatch.ts). */
  engineHealth?: () => EngineHealth;
  /** When the worker last found its queue empty (core/runResend.ts), if it has yet. */
  queueCaughtUpAt?: () => Date | undefined;
  /** The nonce this daemon registered with (core/workerInstance.ts). */
  instanceNonce?: string;
  /** Another daemon registered under this worker's name: this one must stop taking work. */
  onDisplaced?: (error: WorkerDisplacedError) => void;
  /** Registers the worker again after the control plane refused a heartbeat. */
  reregister?: () => Promise<void>;
  /** Called when a beat gets through after failures (the control plane is back). */
  onRecovered?: () => void;
  /** Called after every beat the control plane took (the fence's clock: control/fencing.ts). */
  onContact?: () => void;
  log: (line: string) => void;
  signal: AbortSignal;
}

/** Beats until the signal aborts. Never throws: a failed beat is logged and retried. */
export async function runHeartbeat(options: HeartbeatOptions): Promise<void> {
  // The same failure every interval is one line, and its end another.
  let lastFailure: string | undefined;
  const log = (line: string) => {
    if (line !== lastFailure) options.log(line);
    lastFailure = line;
  };
  let failures = 0;
  const roundTrips = new RecentMax(ROUND_TRIPS_REMEMBERED);
  while (!options.signal.aborted) {
    const started = Date.now();
    const declared = await beat({ ...options, log }, roundTrips.max());
    const ok = declared !== false;
    if (ok) {
      const took = Date.now() - started;
      roundTrips.add(took);
      if (took >= SLOW_BEAT_MS) {
        options.log(`heartbeat took ${(took / 1000).toFixed(1)} s (the control plane is slow)`);
      }
    }
    if (ok) options.onContact?.();
    if (ok && failures > 0) {
      options.log('heartbeat recovered');
      lastFailure = undefined;
      options.onRecovered?.();
    }
    failures = ok ? 0 : failures + 1;
    // While failing, beat again sooner (to stay alive once the control plane is back), with
    // jitter so that a fleet of workers does not hit it all at once.
    const delay = ok
      ? declared
      : Math.max(200, backoffDelay(failures, options.intervalMs / 4, options.intervalMs));
    if (options.waker) {
      await options.waker.sleep(delay, options.signal, delay > options.intervalMs);
    } else await sleep(delay, options.signal);
  }
}

/**
 * The longest delivery a beat declares room for. A beat carries the time the worker sent it;
 * when the control plane takes seconds to store it (an overloaded emulator: 2 cores, load
 * average 40-60), it arrives already old and the next is sent only after it, so the stored
 * time can age past the TTL while the worker is alive (bench:throughput: 381 tasks taken for
 * lost). The worker therefore declares its interval plus the longest round trip of its recent
 * beats (one slow beat among fast ones is what ages the stored time), and the control plane
 * allows 2.5 of those (core/heartbeat.ts). Capped, so a worker whose beats crawl is still
 * found lost within a minute or so.
 */
const MAX_DECLARED_DELIVERY_MS = 10_000;
/** Beats whose round trips count for the allowance: about half a minute of a busy worker. */
const ROUND_TRIPS_REMEMBERED = 10;
/** A beat this slow is worth a line in the worker's log. */
const SLOW_BEAT_MS = 2_000;

/** The largest of the last `size` values added. */
class RecentMax {
  private readonly values: number[] = [];
  constructor(private readonly size: number) {}
  add(value: number): void {
    this.values.push(value);
    if (this.values.length > this.size) this.values.shift();
  }
  max(): number {
    return this.values.length > 0 ? Math.max(...this.values) : 0;
  }
}

/** One heartbeat; the interval it keeps to when the control plane took it, else false. */
export async function beat(
  options: HeartbeatOptions,
  recentRoundTripMs = 0,
): Promise<number | false> {
  const { workerId, log } = options;
  try {
    const running = await withTimeout(options.countRunningTasks(), SAMPLE_TIMEOUT_MS, 0);
    const metrics = await options.sampler.sample(running);
    const idle = options.idleIntervalMs;
    const woken =
      options.waker &&
      (options.waker.starting || Date.now() - options.waker.lastWokenAt < (idle ?? 0));
    const interval =
      idle === undefined || running > 0 || woken
        ? options.intervalMs
        : Math.max(idle, options.intervalMs);
    const delivery = Math.min(Math.max(0, Math.round(recentRoundTripMs)), MAX_DECLARED_DELIVERY_MS);
    await options.workers.heartbeat(
      workerId,
      metrics,
      new Date(),
      interval + delivery,
      options.queueCaughtUpAt?.(),
      {
        ...(options.engineHealth ? { engine: options.engineHealth() } : {}),
        ...(options.instanceNonce ? { instanceNonce: options.instanceNonce } : {}),
      },
    );
    return interval;
  } catch (error) {
    if (error instanceof WorkerDisplacedError) {
      log(`heartbeat refused: ${error.message}`);
      options.onDisplaced?.(error);
      return false;
    }
    if (!(error instanceof ConflictError)) {
      log(`heartbeat failed: ${(error as Error).message}`);
      return false;
    }
    if (!options.reregister) {
      log(`heartbeat refused (${error.message}); nothing to register again with`);
      return false;
    }
    log(`heartbeat refused (${error.message}); registering again`);
    try {
      await options.reregister();
    } catch (again) {
      log(`registering again failed: ${(again as Error).message}`);
    }
    return false;
  }
}
