// Spread (ECS's spread by attribute, Kubernetes' topology spread as a preference): put a
// task where its group has the fewest tasks among the values of a worker label (the task's
// `cube.spread-by` label, else `zone`), and within a value on the worker holding fewest.
// Workers without the label score 0: they are in no domain the user asked to spread over.
import type { TaskSpec, WorkerRecord } from '../types.js';
import { groupOf, spreadKeyOf } from './taskGroups.js';
import type { PlacementContext, ScorePlugin } from './types.js';

interface SpreadState {
  group: string;
  key: string;
  /** Group tasks per label value, over the whole fleet. */
  counts: ReadonlyMap<string, number>;
  min: number;
  max: number;
}

const EMPTY: ReadonlyMap<string, number> = new Map();

/** Share of the score for the domain; the rest separates workers within one domain. */
const DOMAIN_SHARE = 90;

export const spreadScorer: ScorePlugin<SpreadState> = {
  name: 'spread',
  usesTaskGroups: true,
  preScore(task: TaskSpec, feasible: readonly WorkerRecord[], ctx: PlacementContext) {
    const group = groupOf(task);
    const key = spreadKeyOf(task);
    const counts = ctx.taskGroups?.byLabel(group, key) ?? EMPTY;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (let i = 0; i < feasible.length; i++) {
      const value = feasible[i]!.labels[key];
      if (value === undefined) continue;
      const c = counts.get(value) ?? 0;
      if (c < min) min = c;
      if (c > max) max = c;
    }
    return { group, key, counts, min, max };
  },
  score(_task: TaskSpec, worker: WorkerRecord, ctx: PlacementContext, state?: SpreadState) {
    if (state === undefined) return 0;
    const value = worker.labels[state.key];
    if (value === undefined) return 0;
    const c = state.counts.get(value) ?? 0;
    const domain = state.max === state.min ? 1 : (state.max - c) / (state.max - state.min);
    const here = ctx.taskGroups?.onWorker(state.group, worker.id) ?? 0;
    return DOMAIN_SHARE * domain + (100 - DOMAIN_SHARE) / (1 + here);
  },
};
