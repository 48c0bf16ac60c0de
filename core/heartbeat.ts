// How long a worker may stay silent before it counts as lost: the control plane's TTL, or
// three of the intervals the worker itself declared (an idle worker beats once a minute).
export const MISSED_BEATS_BEFORE_LOST = 3;

export function heartbeatTtlFor(baseTtlMs: number, declaredIntervalMs?: number): number {
  return declaredIntervalMs
    ? Math.max(baseTtlMs, MISSED_BEATS_BEFORE_LOST * declaredIntervalMs)
    : baseTtlMs;
}
