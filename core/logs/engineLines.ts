// The engine's log lines as the worker reads them (`docker logs --timestamps`): each starts
// with an RFC 3339 timestamp to the nanosecond, a space, then the container's own output.
// Positions in a container's output are kept as (timestamp, how many lines at exactly that
// timestamp), so a reader that starts again from a timestamp skips exactly what it had.

/** A line of a container's output, with its engine timestamp. */
export interface EngineLine {
  /** Sortable form of the engine's timestamp: `<epoch seconds, 12 digits>.<9 digits>`. */
  key: string;
  /** Milliseconds since the epoch (CloudWatch's resolution). */
  ms: number;
  message: string;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ?/;

/** Splits `2026-01-01T00:00:00.123456789Z hello` into its time and text; undefined if untimed. */
export function parseEngineLine(text: string): EngineLine | undefined {
  const match = TIMESTAMP.exec(text);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]}`) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  const nanos = (match[2] ?? '').padEnd(9, '0');
  return {
    key: `${String(seconds).padStart(12, '0')}.${nanos}`,
    ms: seconds * 1000 + Number(nanos.slice(0, 3)),
    message: text.slice(match[0].length),
  };
}

/** One frame's payload (a line or a 16 KiB piece of one) without its line ending. */
export function stripLineEnd(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

/** The engine's `since` parameter for a position's timestamp (fractional seconds). */
export function sinceParameter(key: string): string {
  const [seconds, nanos] = key.split('.') as [string, string];
  return `${Number(seconds)}.${nanos}`;
}

/** Everything up to and including the `seen`-th line at timestamp `key` was handled. */
export interface LogPosition {
  key: string;
  seen: number;
}

/** The position just after `line`, read after `position`. */
export function advance(position: LogPosition | undefined, key: string): LogPosition {
  return position?.key === key ? { key, seen: position.seen + 1 } : { key, seen: 1 };
}

/**
 * Skips what a reader resuming from `from` had handled already: lines before its timestamp,
 * and the first `seen` lines at it. `gap()` says whether the resumed output began after
 * `from` (its last line was no longer there: the engine rotated it away).
 */
export class ResumeFilter {
  private atKey = 0;
  private first = true;
  private gapSeen = false;

  constructor(private readonly from: LogPosition | undefined) {}

  /** True when the line is new to the reader. */
  accept(key: string): boolean {
    const from = this.from;
    const first = this.first;
    this.first = false;
    if (!from) return true;
    if (first && key > from.key) this.gapSeen = true;
    if (key < from.key) return false;
    if (key === from.key && this.atKey < from.seen) {
      this.atKey++;
      return false;
    }
    return true;
  }

  gap(): boolean {
    return this.gapSeen;
  }
}
