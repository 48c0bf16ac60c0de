// Where a task's output lives in CloudWatch Logs: one log group per control plane, one
// stream per attempt of a task. The worker writes these names and the API reads them.

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

/**
 * `--since` and `?since=`: a duration back from `now` (`90s`, `10m`, `2h`, `1d`, `1h30m`) or
 * a moment (RFC 3339, or epoch milliseconds). Undefined when it is neither.
 */
export function parseSince(text: string, now: number = Date.now()): number | undefined {
  const trimmed = text.trim();
  if (/^(\d+(\.\d+)?[smhd])+$/.test(trimmed)) {
    let ms = 0;
    for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
      ms += Number(amount) * UNITS[unit!]!;
    }
    return Math.round(now - ms);
  }
  if (/^\d{10,16}$/.test(trimmed)) return Number(trimmed);
  if (/^\d{4}-\d\d-\d\dT/.test(trimmed)) {
    const at = Date.parse(trimmed);
    return Number.isFinite(at) ? at : undefined;
  }
  return undefined;
}
