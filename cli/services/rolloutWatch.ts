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

/** What is being waited for: a rollout's verdict, or only the replica count (a scale). */
export type WatchFor = 'rollout' | 'count';

const countSettled = (view: ServiceView) =>
  view.counts.live === view.replicas &&
  view.counts.healthy === view.replicas &&
  view.counts.updated === view.replicas &&
  view.counts.stopping === 0;

/**
 * Settled: a rollout that failed or was rolled back is over; a complete one is over once the
 * replica count matches too. Waiting for a count (a scale), an earlier rollback is history:
 * only a rollout still moving or one that failed matters.
 */
export function verdictOf(view: ServiceView, waitFor: WatchFor = 'rollout'): Verdict | undefined {
  const { state } = view.rollout;
  if (state === 'failed') return 'failed';
  if (state === 'progressing' || state === 'rolling-back' || state === 'deleting') return undefined;
  if (state === 'rolled-back' && waitFor === 'rollout') return 'rolled-back';
  return countSettled(view) ? 'complete' : undefined;
}

export async function watchRollout(
  services: ServicesApi,
  name: string,
  options: {
    timeoutMs: number;
    onUpdate?: (view: ServiceView) => void;
    untilGone?: boolean;
    waitFor?: WatchFor;
  },
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
    const verdict = options.untilGone ? undefined : verdictOf(last, options.waitFor);
    if (verdict) return { verdict, service: last };
    if (Date.now() >= deadline) return { verdict: 'timed-out', service: last };
    await sleep(500);
  }
}
