// Follows a service until its rollout settles, for `cube rollout status` and the --wait of
// apply, scale and undo: one GET every half second, a progress line, and the verdict.
import { ApiError } from '../apiClient.js';
import type { ServicesApi } from './client.js';
import type { ServiceView } from './types.js';

export type Verdict = 'complete' | 'failed' | 'rolled-back' | 'timed-out' | 'deleted';

export interface WatchResult {
  verdict: Verdict;
  service?: ServiceView;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the service stands, as one line: `revision 3: 2/3 updated, 3/3 healthy (progressing)`. */
export function describeRollout(view: ServiceView): string {
  const { counts, rollout } = view;
  const head = `revision ${rollout.revision}: ${counts.updated}/${view.replicas} updated, ${counts.healthy}/${view.replicas} healthy`;
  const extra = counts.stopping > 0 ? `, ${counts.stopping} stopping` : '';
  return `${head}${extra} (${rollout.state})`;
}

/**
 * Settled: a rollout that failed or was rolled back is over; a complete one is over once the
 * replica count matches too (a scale leaves the rollout complete while replicas come and go).
 */
export function verdictOf(view: ServiceView): Verdict | undefined {
  const { rollout, counts } = view;
  if (rollout.state === 'failed') return 'failed';
  if (rollout.state === 'rolled-back') return 'rolled-back';
  if (rollout.state !== 'complete') return undefined;
  const settled =
    counts.live === view.replicas &&
    counts.healthy === view.replicas &&
    counts.updated === view.replicas &&
    counts.stopping === 0;
  return settled ? 'complete' : undefined;
}

export async function watchRollout(
  services: ServicesApi,
  name: string,
  options: { timeoutMs: number; onUpdate?: (view: ServiceView) => void; untilGone?: boolean },
): Promise<WatchResult> {
  const deadline = Date.now() + options.timeoutMs;
  let last: ServiceView | undefined;
  for (;;) {
    try {
      last = (await services.get(name)).service;
    } catch (error) {
      if (options.untilGone && error instanceof ApiError && error.status === 404) {
        return { verdict: 'deleted' };
      }
      throw error;
    }
    options.onUpdate?.(last);
    const verdict = options.untilGone ? undefined : verdictOf(last);
    if (verdict) return { verdict, service: last };
    if (Date.now() >= deadline) return { verdict: 'timed-out', service: last };
    await sleep(500);
  }
}
