// POST /v1/schedule/dry-run: where a task spec would go now and why, placing nothing.
// Same validation as a submit, same policy choice, every worker evaluated (no sampling), no
// reservation and no round-robin cursor moved.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ValidationError } from '../../core/errors.js';
import {
  DEFAULT_POLICY,
  type PlacementContext,
  placeTask,
  policyRegistry,
} from '../../core/scheduler/index.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { taskGroupsFor } from '../scheduler/placePendingTask.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';
import { deployedTaskSpec } from './deployedSchemas.js';

export async function dryRunSchedule(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const deps = getDeps();
  const spec = validateTaskSpec(event.body as unknown, () => 'dry-run', deployedTaskSpec());
  const policy = spec.scheduler ?? deps.config.defaultPolicy ?? DEFAULT_POLICY;
  if (!policyRegistry.has(policy)) {
    throw new ValidationError(
      'scheduler',
      `unknown policy "${policy}"; known: ${policyRegistry.names().join(', ')}`,
    );
  }
  const snapshot = { workers: await deps.workers.list() };
  const ctx: PlacementContext = { now: new Date(), heartbeatTtlMs: deps.config.heartbeatTtlMs };
  if (policyRegistry.compiled(policy).usesTaskGroups) {
    ctx.taskGroups = await taskGroupsFor(deps, snapshot);
  }
  const decision = placeTask(spec, snapshot.workers, policy, ctx);
  return jsonResponse(200, {
    policy,
    placed: decision.worker !== undefined,
    ...(decision.worker
      ? { workerId: decision.worker.id, workerName: decision.worker.name, score: decision.score }
      : {}),
    reason: decision.reason,
    explanation: decision.explanation,
  });
}
