// A container's output waiting to be shipped: bounded, so a container that prints faster than
// the logs can be shipped costs the worker a fixed amount of memory and never slows anything
// down. Lines that do not fit are dropped and counted, and a `[cube] N lines dropped` line
// takes their place. Batches follow PutLogEvents' rules: at most 10,000 events and 1 MiB
// (each event's UTF-8 bytes + 26), spanning at most 24 hours, in time order.
import type { LogPosition } from './engineLines.js';

export const PUT_LIMITS = {
  maxEvents: 10_000,
  maxBytes: 1_048_576,
  /** What CloudWatch counts per event besides its message. */
  eventOverhead: 26,
  /** One event's message (256 KiB with its overhead). */
  maxMessageBytes: 262_144 - 26,
  spanMs: 24 * 3600_000,
} as const;

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  spanMs: number;
}

export interface BufferedEvent {
  /** Never decreasing through the buffer (CloudWatch wants each batch in time order). */
  timestamp: number;
  message: string;
  bytes: number;
  /** Where the container's output stands once this event is shipped. */
  position: LogPosition;
}

/** The line shipped in place of `count` dropped ones. */
export const droppedLine = (count: number) =>
  `[cube] ${count} line${count === 1 ? '' : 's'} dropped`;

export class LogBuffer {
  private events: BufferedEvent[] = [];
  private head = 0;
  private bytes = 0;
  private lastTimestamp = 0;
  private pendingDrops?: { count: number; timestamp: number; position: LogPosition };
  /** Lines dropped over this buffer's life. */
  dropped = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly limits: BatchLimits = PUT_LIMITS,
  ) {}

  get size(): number {
    return this.events.length - this.head;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Adds a line, or drops it when the buffer is full. True when it was kept. */
  push(timestamp: number, message: string, position: LogPosition): boolean {
    const text = capMessage(message === '' ? ' ' : message);
    const bytes = Buffer.byteLength(text, 'utf8') + PUT_LIMITS.eventOverhead;
    if (this.bytes + bytes > this.maxBytes) {
      this.dropped++;
      this.pendingDrops ??= { count: 0, timestamp, position };
      this.pendingDrops.count++;
      this.pendingDrops.position = position;
      return false;
    }
    this.settleDrops();
    this.append(timestamp, text, bytes, position);
    return true;
  }

  /** A line of Cube's own (a gap, say), kept whatever the bound. */
  note(timestamp: number, message: string, position: LogPosition): void {
    this.settleDrops();
    this.append(
      timestamp,
      message,
      Buffer.byteLength(message) + PUT_LIMITS.eventOverhead,
      position,
    );
  }

  /** Puts the line for lines dropped so far in their place (before anything kept after them). */
  settleDrops(): void {
    const drops = this.pendingDrops;
    if (!drops) return;
    this.pendingDrops = undefined;
    const message = droppedLine(drops.count);
    const bytes = Buffer.byteLength(message) + PUT_LIMITS.eventOverhead;
    this.append(drops.timestamp, message, bytes, drops.position);
  }

  /** The next batch PutLogEvents takes, from the head; it stays until `commit`. */
  peekBatch(): BufferedEvent[] {
    this.settleDrops();
    const batch: BufferedEvent[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (batch.length >= this.limits.maxEvents) break;
      if (batch.length > 0 && bytes + event.bytes > this.limits.maxBytes) break;
      if (batch.length > 0 && event.timestamp - batch[0]!.timestamp >= this.limits.spanMs) break;
      batch.push(event);
      bytes += event.bytes;
    }
    return batch;
  }

  /** A whole batch is ready (no reason to wait for the flush interval). */
  fullBatchReady(): boolean {
    return this.size >= this.limits.maxEvents || this.bytes >= this.limits.maxBytes;
  }

  /** The first `count` events were shipped. */
  commit(count: number): void {
    for (let i = 0; i < count && this.head < this.events.length; i++) {
      this.bytes -= this.events[this.head]!.bytes;
      this.head++;
    }
    // Compact now and then rather than shift() per event.
    if (this.head > 4096 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  private append(timestamp: number, message: string, bytes: number, position: LogPosition) {
    const at = Math.max(timestamp, this.lastTimestamp);
    this.lastTimestamp = at;
    this.events.push({ timestamp: at, message, bytes, position });
    this.bytes += bytes;
  }
}

/** A message within one event's limit (the engine splits lines at 16 KiB, so this is rare). */
function capMessage(message: string): string {
  if (message.length * 3 <= PUT_LIMITS.maxMessageBytes) return message;
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= PUT_LIMITS.maxMessageBytes) return message;
  // Cut on a character boundary (a partial character would become U+FFFD, 3 bytes).
  return bytes.subarray(0, PUT_LIMITS.maxMessageBytes - 4).toString('utf8');
}
