// One container's output on its way to CloudWatch: a reader follows the engine's log of the
// container (`docker logs --follow --timestamps`, from where shipping stood) into a bounded
// buffer, and a flusher puts the buffer's batches at least once a second. The two never wait
// for each other: a slow put fills the buffer, and a full buffer drops lines (counted, and a
// line says so), so the container and the rest of the worker never wait for CloudWatch.
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import {
  advance,
  type EngineLine,
  type LogPosition,
  parseEngineLine,
  ResumeFilter,
  sinceParameter,
  stripLineEnd,
} from '../../core/logs/engineLines.js';
import { LogBuffer } from '../../core/logs/logBuffer.js';
import { backoffDelay, sleep } from '../timing.js';
import type { CloudWatchSink } from './cloudWatchSink.js';
import type { ShipStates } from './shipState.js';

export interface ShippingCounters {
  linesRead: number;
  linesShipped: number;
  linesDropped: number;
  bytesShipped: number;
  puts: number;
  putFailures: number;
  rejected: number;
}

export interface ContainerLogsOptions {
  docker: Docker;
  containerId: string;
  /** Cube never asks for a TTY; an engine-made one is read raw rather than demultiplexed. */
  tty: boolean;
  sink: Pick<CloudWatchSink, 'put'>;
  states: ShipStates;
  bufferBytes: number;
  flushIntervalMs: number;
  counters: ShippingCounters;
  log: (line: string) => void;
  /** For log lines: `task <id> attempt <n>`. */
  label: string;
}

/** Puts tried for a container whose output has ended before its last lines are given up. */
const MAX_FAILURES_AFTER_END = 8;

export const GAP_LINE =
  '[cube] lines missing here: the engine rotated them out of its log files before they were shipped';

export class ContainerLogs {
  private readonly buffer: LogBuffer;
  private readonly abort = new AbortController();
  /** The last line read (into the buffer or dropped); a reopened stream starts after it. */
  private readPosition: LogPosition | undefined;
  private readEnded = false;
  private wake: (() => void) | undefined;
  private stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  private readonly reading: Promise<void>;
  /** Settles when the output is read to its end and shipped, or shipping was stopped. */
  readonly done: Promise<void>;

  constructor(private readonly options: ContainerLogsOptions) {
    this.buffer = new LogBuffer(options.bufferBytes);
    this.readPosition = options.states.read(options.containerId);
    this.reading = this.readLoop().finally(() => {
      this.readEnded = true;
      this.nudge();
    });
    this.done = Promise.all([this.reading, this.flushLoop()]).then(() => {});
  }

  /** The engine ended the output (the container stopped) and the flusher took note. */
  get ended(): boolean {
    return this.readEnded;
  }

  /** Waits for the end of the output, then ships what is left now (each wait bounded). */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await raceTimeout(this.reading, timeoutMs);
    await raceTimeout(this.done, Math.max(0, deadline - Date.now()));
  }

  /** Stops reading, ships what the buffer holds (bounded), leaves the rest to the next start. */
  async stop(timeoutMs: number): Promise<void> {
    this.abort.abort();
    this.stream?.destroy?.();
    this.nudge();
    await raceTimeout(this.done, timeoutMs);
  }

  private nudge(): void {
    this.wake?.();
  }

  private async readLoop(): Promise<void> {
    const { docker, containerId } = this.options;
    const container = docker.getContainer(containerId);
    const signal = this.abort.signal;
    for (let failures = 0; !signal.aborted; ) {
      try {
        const since = this.readPosition ? { since: sinceParameter(this.readPosition.key) } : {};
        const stream = (await container.logs({
          follow: true,
          stdout: true,
          stderr: true,
          timestamps: true,
          ...(since as { since?: number }),
        })) as unknown as NodeJS.ReadableStream & { destroy?: () => void };
        this.stream = stream;
        if (signal.aborted) stream.destroy?.();
        await this.consume(stream, new ResumeFilter(this.readPosition));
        failures = 0;
      } catch (error) {
        if (statusOf(error) === 404) return;
        failures++;
        if (!signal.aborted) {
          this.options.log(
            `${this.options.label}: reading its output failed: ${(error as Error).message}`,
          );
        }
      }
      if (signal.aborted) return;
      // The engine ends a followed log when the container stops; anything else (the engine
      // restarting, a broken connection) is read again from where it stood.
      const running = await container
        .inspect()
        .then((info) => info.State.Running || info.State.Restarting || info.State.Paused)
        .catch((error: unknown) => statusOf(error) !== 404);
      if (!running) return;
      await sleep(failures === 0 ? 100 : backoffDelay(failures, 250, 10_000), signal);
    }
  }

  /** Reads one opened stream to its end, line by line into the buffer. */
  private consume(
    stream: NodeJS.ReadableStream & { destroy?: () => void },
    filter: ResumeFilter,
  ): Promise<void> {
    let first = true;
    const onLine = (text: string) => {
      const line = parseEngineLine(text);
      if (!line || !filter.accept(line.key)) return;
      if (first) {
        first = false;
        if (filter.gap()) {
          this.buffer.note(line.ms, GAP_LINE, this.readPosition ?? { key: line.key, seen: 0 });
        }
      }
      this.take(line);
    };
    return new Promise<void>((resolve, reject) => {
      if (this.options.tty) {
        const decoder = new StringDecoder('utf8');
        let rest = '';
        stream.on('data', (chunk: Buffer) => {
          const lines = (rest + decoder.write(chunk)).split('\n');
          rest = lines.pop()!;
          for (const line of lines) onLine(stripLineEnd(line));
        });
        stream.once('end', () => {
          if (rest) onLine(stripLineEnd(rest));
        });
      } else {
        // Each frame is one line of the engine's log (or a 16 KiB piece of a longer one).
        const frames = { write: (frame: Buffer) => onLine(stripLineEnd(frame.toString('utf8'))) };
        this.options.docker.modem.demuxStream(stream, frames as never, frames as never);
      }
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', (error: Error) => reject(error));
    });
  }

  private take(line: EngineLine): void {
    this.readPosition = advance(this.readPosition, line.key);
    this.options.counters.linesRead++;
    if (!this.buffer.push(line.ms, line.message, this.readPosition)) {
      this.options.counters.linesDropped++;
    }
    if (this.buffer.fullBatchReady()) this.nudge();
  }

  private async flushLoop(): Promise<void> {
    const { sink, states, containerId, counters, flushIntervalMs } = this.options;
    let failures = 0;
    for (;;) {
      // The end of the output, or a whole batch waiting, is shipped without waiting.
      const urgent = this.readEnded || this.buffer.fullBatchReady();
      if (!urgent || failures > 0) {
        await this.pause(failures > 0 ? backoffDelay(failures, 500, 10_000) : flushIntervalMs);
      }
      const batch = this.buffer.peekBatch();
      if (batch.length === 0) {
        if (this.readEnded) return;
        await this.pause(flushIntervalMs);
        continue;
      }
      try {
        const result = await sink.put(batch);
        this.buffer.commit(batch.length);
        states.write(containerId, batch.at(-1)!.position);
        failures = 0;
        counters.puts++;
        counters.linesShipped += batch.length;
        counters.bytesShipped += batch.reduce((sum, e) => sum + e.bytes, 0);
        counters.rejected += result.rejected;
      } catch (error) {
        failures++;
        counters.putFailures++;
        if (failures === 1) {
          this.options.log(
            `${this.options.label}: shipping its output failed, retrying: ${(error as Error).message}`,
          );
        }
        // A stopped shipper gives up; the next start reads the lines again from the engine.
        if (this.abort.signal.aborted) return;
        if (this.readEnded && failures >= MAX_FAILURES_AFTER_END) {
          this.options.log(
            `${this.options.label}: gave up shipping its last ${this.buffer.size} lines after ${failures} tries`,
          );
          return;
        }
      }
    }
  }

  /** Sleeps until the interval passes or something asks for a flush. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

const statusOf = (error: unknown) => (error as { statusCode?: number } | undefined)?.statusCode;

async function raceTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
