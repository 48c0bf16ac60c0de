// The one-line reasons stored on a task and shown by `cube ps` / `cube inspect`.

/**
 * `0/3 workers fit: 2 insufficient memory, 1 not ready` — counts sorted by count (desc),
 * then reason; `0/0 workers fit: no workers registered` when there is nobody to ask.
 */
export function formatNoFitReason(
  evaluated: number,
  rejected: Readonly<Record<string, number>> | ReadonlyMap<string, number>,
): string {
  if (evaluated === 0) return '0/0 workers fit: no workers registered';
  const entries = rejected instanceof Map ? [...rejected] : Object.entries(rejected);
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const parts = entries.map(([reason, count]) => `${count} ${reason}`);
  return `0/${evaluated} workers fit: ${parts.join(', ')}`;
}

/** `placed on w1 (score 87.2) by epvm` */
export function formatPlacedReason(workerName: string, score: number, policy: string): string {
  return `placed on ${workerName} (score ${score.toFixed(1)}) by ${policy}`;
}
