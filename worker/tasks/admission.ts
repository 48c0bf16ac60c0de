// What a worker checks before it creates anything for a task: that the control plane signed
// this placement of this spec on this worker, and that the spec keeps to this host's own
// policy (its CUBE_ALLOW_* settings), whatever the record says. Either refusal fails the task
// with a reason naming the signature or the host's rule; no container is made.
import { hostPolicyProblem } from '../../core/containerPolicy.js';
import { placementSignatureProblem } from '../../core/placementSignature.js';
import type { TaskRecord } from '../../core/types.js';
import type { WorkerContext } from './workerContext.js';

/** Why this worker must not run `task`, or undefined when it may. */
export function admissionProblem(
  ctx: Pick<WorkerContext, 'workerId' | 'controlPlaneKey' | 'hostPolicy'>,
  task: TaskRecord,
): string | undefined {
  return (
    placementSignatureProblem(task, ctx.workerId, ctx.controlPlaneKey) ??
    hostPolicyProblem(task.spec, ctx.hostPolicy)
  );
}
