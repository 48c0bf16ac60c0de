// Durations as people write them (`90s`, `10m`, `36h`, `7d`, `2w`) <-> milliseconds, for
// retention settings (CUBE_RETAIN_FINISHED) and `--since` / `?since=`.
import { backFrom, MOMENT } from '../timeText.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const DURATION = '\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d|w)?\\s*';

/** `10m` -> 600000; a bare number is seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = new RegExp(`^${DURATION}$`).exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** 604800000 -> `7d`, 5400000 -> `90m`: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** What parseSince reads: a duration, or an RFC 3339 moment (for schemas and documents). */
export const SINCE = new RegExp(`^(?:${DURATION.replace(/\((?!\?)/g, '(?:')}|${MOMENT})$`);

/**
 * `?since=` and `--since`: an RFC 3339 moment, or a duration back from `now` (not before the
 * epoch). Undefined when it is neither.
 */
export function parseSince(text: string, now = new Date()): Date | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(backFrom(now.getTime(), ago));
  if (!new RegExp(`^${MOMENT}$`).test(text)) return undefined;
  return new Date(Date.parse(text));
}
