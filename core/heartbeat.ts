// How long a worker may stay silent before it counts as lost: the control plane's TTL, or
// 2.5 of the intervals the worker itself declared (an idle worker beats once a minute). A
// declared interval already holds the worker's slowest recent round trip, and the gap between
// two stored beats is one interval plus round trips: 2.5 of them leave room for a lost beat
// and a late one (three made a worker whose writes took 1.2 s on a loaded emulator wait 9.6 s
// to be found lost, most of bench:recovery's 10-s budget).
export const MISSED_BEATS_BEFORE_LOST = 2.5;

export function heartbeatTtlFor(baseTtlMs: number, declaredIntervalMs?: number): number {
  return declaredIntervalMs
    ? Math.max(baseTtlMs, MISSED_BEATS_BEFORE_LOST * declaredIntervalMs)
    : baseTtlMs;
}
