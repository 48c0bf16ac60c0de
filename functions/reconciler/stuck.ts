// A task a live worker holds past its state's bound (core/stuckTasks.ts): SCHEDULED or STARTING
// ends FAILED with the reason and its restart policy (elsewhere, never in place: the worker that
// sat on it is the likely cause); STOPPING ends STOPPED by force (a drain's is placed again),
// and the worker removes the container it may still have once it sees the record.
import { applyDueRestart } from '../../aws/restarts.js';
import { ConflictError } from '../../core/errors.js';
import { decideRestart, restartPatch } from '../../core/restartPolicy.js';
import type { StuckVerdict } from '../../core/stuckTasks.js';
import type { TaskRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';

const BY = 'reconciler';

/** Applies the verdict to the record; false when the record moved on meanwhile. */
export async function settleStuck(
  deps: Deps,
  task: TaskRecord,
  verdict: StuckVerdict,
  now: Date,
): Promise<boolean> {
  console.log(`reconciler: task ${task.id} ${task.state} too long: ${verdict.reason}`);
  try {
    if (verdict.action === 'force-stop') {
      if (task.restart) {
        const outcome = await applyDueRestart(deps, task, BY, { now, notifyWorker: true });
        return outcome.kind === 'rescheduled' || outcome.kind === 'in-place';
      }
      await deps.tasks.transition(task, { to: 'STOPPED', by: BY, reason: verdict.reason });
      return true;
    }
    const decision = decideRestart(
      task,
      { kind: 'stuck', what: verdict.reason },
      deps.config.restart,
      now,
    );
    const failed = await deps.tasks.transition(task, {
      to: 'FAILED',
      by: BY,
      reason: decision.reason,
      patch: restartPatch(decision),
    });
    await applyDueRestart(deps, failed, BY, { now, notifyWorker: true });
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}
