// Round-robin, the book's first scheduler: the next worker in turn scores best.
//
// The scheduler runs as stateless function invocations, so "next" cannot be an index kept
// in a process: workers arrive in whatever order a table scan returns, and come and go.
// - With a cursor (`ctx.roundRobin`, kept by the caller in memory between calls, e.g. in a
//   Lambda's module scope), the turn is the feasible worker whose id follows the last
//   chosen id in id order, wrapping around. An id, unlike an index, survives scan order,
//   workers joining or leaving, and can be persisted if a caller ever wants to.
// - Without one (a cold invocation), the turn goes to the worker holding the fewest tasks
//   (smallest id on ties). The reservation each placement writes raises that count, so
//   successive stateless placements still cycle over equally loaded workers.
// `reserve` moves the cursor to the chosen worker.
import type { TaskSpec, WorkerRecord } from '../types.js';
import type { PlacementContext, ScorePlugin } from './types.js';

interface RoundRobinState {
  turn: string | undefined;
  /** Fewest tasks among feasible workers (cursor-less mode only), else -1. */
  minTasks: number;
}

function nextAfter(feasible: readonly WorkerRecord[], last: string): string | undefined {
  let after: string | undefined;
  let first: string | undefined;
  for (let i = 0; i < feasible.length; i++) {
    const id = feasible[i]!.id;
    if (first === undefined || id < first) first = id;
    if (id > last && (after === undefined || id < after)) after = id;
  }
  return after ?? first;
}

function fewestTasks(feasible: readonly WorkerRecord[]): RoundRobinState {
  let turn: string | undefined;
  let minTasks = -1;
  for (let i = 0; i < feasible.length; i++) {
    const w = feasible[i]!;
    const tasks = w.allocated.tasks;
    if (turn === undefined || tasks < minTasks || (tasks === minTasks && w.id < turn)) {
      turn = w.id;
      minTasks = tasks;
    }
  }
  return { turn, minTasks };
}

export const roundRobinScorer: ScorePlugin<RoundRobinState> = {
  name: 'round-robin',
  preScore(_task: TaskSpec, feasible: readonly WorkerRecord[], ctx: PlacementContext) {
    const cursor = ctx.roundRobin;
    if (cursor === undefined) return fewestTasks(feasible);
    return { turn: nextAfter(feasible, cursor.lastWorkerId ?? ''), minTasks: -1 };
  },
  score(_task: TaskSpec, worker: WorkerRecord, _ctx: PlacementContext, state?: RoundRobinState) {
    // Called without preScore (outside placeTask) there is no turn: everyone ties.
    if (state === undefined) return 0;
    if (worker.id === state.turn) return 100;
    if (state.minTasks < 0) return 0;
    // Cursor-less: the less a worker holds, the sooner its turn.
    return 99 / (1 + worker.allocated.tasks - state.minTasks);
  },
  reserve(_task: TaskSpec, worker: WorkerRecord, ctx: PlacementContext) {
    if (ctx.roundRobin !== undefined) ctx.roundRobin.lastWorkerId = worker.id;
  },
};
