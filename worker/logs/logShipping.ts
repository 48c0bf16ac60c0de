// The worker's log shipping: one ContainerLogs per container of this worker whose task did
// not opt out (`logs: false`), started when the container starts or is found running (a
// restarted worker), settled before the container's end is recorded or it is removed.
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type Docker from 'dockerode';
import { logStreamName } from '../../core/logs/logNames.js';
import { LABEL_ATTEMPT, LABEL_LOGS, LABEL_TASK_ID } from '../engine/containerOptions.js';
import { CloudWatchSink } from './cloudWatchSink.js';
import { ContainerLogs, type ShippingCounters } from './containerLogs.js';
import { defaultStateDir, ShipStates } from './shipState.js';

export interface LogShippingOptions {
  docker: Docker;
  client: CloudWatchLogsClient;
  logGroup: string;
  /** Where each container's shipped position is kept (default `defaultStateDir()`). */
  stateDir?: string;
  /** Bound of each container's buffer (default 4 MiB: a second of output at 40,000 lines/s). */
  bufferBytes?: number;
  /** Longest a line waits in the buffer before it is put (default 1 s). */
  flushIntervalMs?: number;
  log?: (line: string) => void;
}

/** What the worker knows of a container when it starts it (no need to ask the engine). */
export interface KnownContainer {
  taskId: string;
  attempt: number;
  /** The task's `logs` (false: not shipped). */
  ship: boolean;
}

export const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** Longest a container's end waits for its output to be read and put. */
export const SETTLE_TIMEOUT_MS = 5000;

export class LogShipping {
  private readonly containers = new Map<string, Promise<ContainerLogs | undefined>>();
  private readonly states: ShipStates;
  private readonly log: (line: string) => void;
  readonly counters: ShippingCounters = {
    linesRead: 0,
    linesShipped: 0,
    linesDropped: 0,
    bytesShipped: 0,
    puts: 0,
    putFailures: 0,
    rejected: 0,
  };
  private stopped = false;

  constructor(private readonly options: LogShippingOptions) {
    this.states = new ShipStates(options.stateDir ?? defaultStateDir());
    this.log = options.log ?? (() => {});
  }

  /** Starts shipping the container's output unless it is shipping already. */
  follow(containerId: string, known?: KnownContainer): void {
    if (this.stopped || this.containers.has(containerId)) return;
    const starting = this.open(containerId, known).catch((error: Error) => {
      this.log(
        `container ${containerId.slice(0, 12)}: its output is not shipped: ${error.message}`,
      );
      this.containers.delete(containerId);
      return undefined;
    });
    this.containers.set(containerId, starting);
  }

  /**
   * The container has ended: waits (bounded) until its output is read to the end and put, so
   * its task's final state is written with its logs in place and removing it loses nothing.
   */
  async settle(containerId: string): Promise<void> {
    if (this.stopped) return;
    this.follow(containerId);
    const shipping = await this.containers.get(containerId);
    await shipping?.settle(SETTLE_TIMEOUT_MS);
  }

  /** The container is gone: its position is no longer needed. */
  forget(containerId: string): void {
    this.containers.delete(containerId);
    this.states.remove(containerId);
  }

  /** Stops every reader; buffered lines get one bounded chance to be put. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopped = true;
    const all = await Promise.all(this.containers.values());
    await Promise.all(all.map((shipping) => shipping?.stop(timeoutMs)));
  }

  private async open(
    containerId: string,
    known?: KnownContainer,
  ): Promise<ContainerLogs | undefined> {
    let meta = known ? { ...known, tty: false } : undefined;
    if (!meta) {
      const info = await this.options.docker
        .getContainer(containerId)
        .inspect()
        .catch((error: { statusCode?: number }) => {
          if (error?.statusCode === 404) return undefined;
          throw error;
        });
      if (!info) return undefined;
      const labels = info.Config.Labels ?? {};
      const taskId = labels[LABEL_TASK_ID];
      const attempt = Number(labels[LABEL_ATTEMPT]);
      if (!taskId || !Number.isInteger(attempt)) return undefined;
      meta = { taskId, attempt, ship: labels[LABEL_LOGS] !== 'off', tty: info.Config.Tty };
    }
    if (!meta.ship) return undefined;
    const stream = logStreamName(meta.taskId, meta.attempt);
    return new ContainerLogs({
      docker: this.options.docker,
      containerId,
      tty: meta.tty,
      sink: new CloudWatchSink(this.options.client, this.options.logGroup, stream),
      states: this.states,
      bufferBytes: this.options.bufferBytes ?? DEFAULT_BUFFER_BYTES,
      flushIntervalMs: this.options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
      counters: this.counters,
      log: this.log,
      label: `task ${meta.taskId} attempt ${meta.attempt}`,
    });
  }
}
