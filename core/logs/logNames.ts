// Where a task's output lives in CloudWatch Logs: one log group per control plane, one
// stream per attempt of a task. The worker writes these names and the API reads them.
import { backFrom, MOMENT } from '../timeText.js';

/** The control plane's log group for container output. */
export const logGroupName = (prefix: string) => `/cube/${prefix}/containers`;

/** One attempt of one task. */
export const logStreamName = (taskId: string, attempt: number) => `${taskId}/${attempt}`;

/** The task and attempt a stream name stands for, or undefined. */
export function parseLogStreamName(name: string): { taskId: string; attempt: number } | undefined {
  const match = /^([a-zA-Z0-9_-]{1,64})\/([1-9]\d{0,8})$/.exec(name);
  return match ? { taskId: match[1]!, attempt: Number(match[2]) } : undefined;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const DURATION = '(?:\\d+(?:\\.\\d+)?[smhd])+';
/** Epoch milliseconds, up to the last moment a Date holds. */
const EPOCH_MS = '\\d{10,15}';

/** What parseSince reads, blanks around it allowed (for schemas and documents). */
export const SINCE = new RegExp(`^\\s*(?:${DURATION}|${EPOCH_MS}|${MOMENT})\\s*$`);

/**
 * `--since` and `?since=`: a duration back from `now` (`90s`, `10m`, `2h`, `1d`, `1h30m`; not
 * before the epoch) or a moment (RFC 3339, or epoch milliseconds). Undefined when it is neither.
 */
export function parseSince(text: string, now: number = Date.now()): number | undefined {
  const trimmed = text.trim();
  if (new RegExp(`^${DURATION}$`).test(trimmed)) {
    let ms = 0;
    for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
      ms += Number(amount) * UNITS[unit!]!;
    }
    return backFrom(now, ms);
  }
  if (new RegExp(`^${EPOCH_MS}$`).test(trimmed)) return Number(trimmed);
  if (new RegExp(`^${MOMENT}$`).test(trimmed)) return Date.parse(trimmed);
  return undefined;
}
