// PUT /v1/services/{name}: apply a service spec. The same spec again changes nothing; a new
// task spec makes a revision and starts its rollout; `replicas` alone is a scale. With
// `?version=N` the apply happens only if the service's specVersion is still N (0: it must not
// exist yet), else 409. With `?dryRun=true` nothing is written: the answer says what would
// change and where the new replicas would go, and why (the scheduler's dry-run).
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { enforceContainerPolicy } from '../../../core/containerPolicy.js';
import { ConflictError, ValidationError } from '../../../core/errors.js';
import {
  DEFAULT_POLICY,
  type PlacementContext,
  placeTask,
  policyRegistry,
} from '../../../core/scheduler/index.js';
import { type ApplyPlan, planApply } from '../../../core/services/canonical.js';
import { replicaSpec } from '../../../core/services/replicas.js';
import { SERVICE_LIMITS, validateServiceSpec } from '../../../core/services/spec.js';
import type {
  Rollout,
  ServiceEvent,
  ServiceRecord,
  ServiceSpec,
} from '../../../core/services/types.js';
import { newTask, transitionTask } from '../../../core/taskStateMachine.js';
import { taskGroupsFor } from '../../scheduler/placePendingTask.js';
import type { AuthedContext } from '../../shared/auth.js';
import { type Deps, getDeps } from '../../shared/deps.js';
import { jsonResponse } from '../../shared/httpErrors.js';
import { applyReservation } from '../../shared/workerSnapshot.js';
import { deployedServiceSpec } from '../deployedSchemas.js';
import { serviceView } from './view.js';

export const ApplyQuery = z.strictObject({
  dryRun: z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  version: z
    .string()
    .regex(/^\d{1,12}$/, 'must be the specVersion you read (0: not yet created)')
    .optional(),
});

/** A rollout of `revision` starting now. */
export function startRollout(
  revision: number,
  at: string,
  from: number | undefined,
  reason: string,
): Rollout {
  return {
    state: 'progressing',
    revision,
    ...(from !== undefined && from !== revision ? { fromRevision: from } : {}),
    startedAt: at,
    progressAt: at,
    newHealthy: 0,
    oldLeft: -1,
    reason,
  };
}

/** The record after applying `spec` over `current` by `plan`, and the events it makes. */
function applied(
  current: ServiceRecord | undefined,
  spec: ServiceSpec,
  plan: ApplyPlan,
  by: string,
  now: Date,
) {
  const at = now.toISOString();
  const event = (kind: ServiceEvent['kind'], revision: number, reason: string): ServiceEvent => ({
    service: spec.name,
    at,
    kind,
    revision,
    by,
    reason,
  });
  if (!current || current.deleting) {
    const reason = `revision 1 rolling out: ${spec.replicas} replicas of ${spec.task.image}`;
    const record: ServiceRecord = {
      name: spec.name,
      uid: randomBytes(3).toString('hex'),
      replicas: spec.replicas,
      update: spec.update,
      revision: 1,
      task: spec.task,
      latestRevision: 1,
      specVersion: 1,
      version: 1,
      rollout: startRollout(1, at, undefined, reason),
      createdAt: at,
      updatedAt: at,
    };
    return { record, events: [event('rollout-started', 1, reason)] };
  }
  const base = {
    ...current,
    replicas: spec.replicas,
    update: spec.update,
    specVersion: current.specVersion + 1,
    version: current.version + 1,
    updatedAt: at,
  };
  if (plan.newRevision) {
    const revision = current.latestRevision + 1;
    const fields = plan.changes.filter((c) => c.field.startsWith('task.')).map((c) => c.field);
    const reason = `revision ${revision} rolling out: ${fields.slice(0, 5).join(', ')}${fields.length > 5 ? ', ...' : ''} changed`;
    const record: ServiceRecord = {
      ...base,
      revision,
      latestRevision: revision,
      task: spec.task,
      rollout: startRollout(revision, at, current.stableRevision, reason),
    };
    return { record, events: [event('rollout-started', revision, reason)] };
  }
  const events: ServiceEvent[] = [];
  let rollout = current.rollout;
  if (plan.scaled) {
    events.push(
      event('scaled', current.revision, `replicas ${current.replicas} -> ${spec.replicas}`),
    );
    // A failed rollout held everything: a scale tries the target revision again.
    if (rollout.state === 'failed') {
      rollout = startRollout(
        current.revision,
        at,
        current.stableRevision,
        `revision ${current.revision} rolling out again after a scale`,
      );
    }
  }
  if (plan.policyChanged) events.push(event('applied', current.revision, 'update policy changed'));
  return { record: { ...base, rollout }, events };
}

export async function applyService(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const deps = getDeps();
  const name = event.pathParameters?.name ?? '';
  const query = ApplyQuery.parse(event.queryStringParameters ?? {});
  const spec = validateServiceSpec(event.body as unknown, name, deployedServiceSpec());
  if (spec.task.scheduler && !policyRegistry.has(spec.task.scheduler)) {
    throw new ValidationError(
      'task.scheduler',
      `unknown policy "${spec.task.scheduler}"; known: ${policyRegistry.names().join(', ')}`,
    );
  }
  enforceContainerPolicy(spec.task, deps.config);
  const by = `api:${context.principal?.name ?? 'user'}`;
  const expected = query.version === undefined ? undefined : Number(query.version);
  for (let tries = 0; tries < 5; tries++) {
    const current = await deps.services.get(name);
    const live = current && !current.deleting ? current : undefined;
    if (expected !== undefined && (live?.specVersion ?? 0) !== expected) {
      throw new ConflictError(
        `service ${name} is at version ${live?.specVersion ?? 0}, not ${expected}: read it again`,
      );
    }
    if (current?.deleting) {
      throw new ConflictError(`service ${name} is being deleted; apply again once it is gone`);
    }
    const plan = planApply(current, spec);
    if (query.dryRun === 'true') {
      return jsonResponse(200, await dryRun(deps, current, spec, plan));
    }
    if (plan.change === 'unchanged') {
      const { slots } = await deps.services.load(name);
      return jsonResponse(200, {
        change: 'unchanged',
        changes: [],
        service: serviceView(current!, await deps.services.withTasks(slots)),
      });
    }
    const { record, events } = applied(current, spec, plan, by, new Date());
    try {
      await deps.services.put(current, record, {
        ...(plan.newRevision
          ? {
              revision: {
                service: name,
                revision: record.revision,
                task: record.task,
                createdAt: record.updatedAt,
              },
              keep: SERVICE_LIMITS.revisionsKept,
            }
          : {}),
        events,
      });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const now = await deps.services.get(name);
      // Another apply, scale or rollback won: 409. The controller's own write: apply again.
      if (!current || !now || now.specVersion !== current.specVersion) {
        throw new ConflictError(
          `service ${name} was changed by someone else meanwhile: read it again`,
        );
      }
      continue;
    }
    await nudge(deps, name);
    return jsonResponse(plan.change === 'created' ? 201 : 200, {
      change: plan.change,
      changes: plan.changes,
      service: serviceView(record, []),
    });
  }
  throw new ConflictError(`service ${name} kept changing while applying`);
}

/** Tells the controller to look at the service now (the reconciler's sweep would, later). */
export async function nudge(deps: Pick<Deps, 'queues'>, name: string) {
  await deps.queues
    .sendSchedule({ kind: 'service', name })
    .catch((error: Error) => console.error(`service ${name}: no nudge sent: ${error.message}`));
}

/**
 * What an apply would do: the change, the fields that differ from the current revision, and
 * where the replicas it starts would go now (each placed in a copy of the workers' figures
 * with the ones before it reserved, as the scheduler would, old replicas still running).
 */
async function dryRun(
  deps: Deps,
  current: ServiceRecord | undefined,
  spec: ServiceSpec,
  plan: ApplyPlan,
) {
  const revision = plan.newRevision ? (current?.latestRevision ?? 0) + 1 : current!.revision;
  const starting = plan.newRevision
    ? spec.replicas
    : Math.max(0, spec.replicas - (current?.replicas ?? 0));
  const snapshot = { workers: await deps.workers.list() };
  const sample = replicaSpec(spec.task, spec.name, 0);
  const policy = sample.scheduler ?? deps.config.defaultPolicy ?? DEFAULT_POLICY;
  const ctx: PlacementContext = { now: new Date(), heartbeatTtlMs: deps.config.heartbeatTtlMs };
  const groups = policyRegistry.compiled(policy).usesTaskGroups
    ? await taskGroupsFor(deps, snapshot)
    : undefined;
  if (groups) ctx.taskGroups = groups;
  const placements = [];
  for (let i = 0; i < starting; i++) {
    const taskSpec = replicaSpec(spec.task, spec.name, i);
    const decision = placeTask(taskSpec, snapshot.workers, policy, ctx);
    placements.push({
      replica: i + 1,
      placed: decision.worker !== undefined,
      ...(decision.worker
        ? { workerId: decision.worker.id, workerName: decision.worker.name }
        : {}),
      reason: decision.reason,
    });
    if (decision.worker) {
      const { task } = newTask(`dry-run-${i}`, taskSpec, 'dry-run');
      const placed = transitionTask(task, {
        to: 'SCHEDULED',
        by: 'dry-run',
        patch: { workerId: decision.worker.id },
      });
      applyReservation(snapshot, placed.after);
      groups?.add(taskSpec.labels['cube.group'] ?? taskSpec.name, decision.worker);
    }
  }
  return {
    dryRun: true,
    change: plan.change,
    revision,
    ...(current ? { currentRevision: current.revision, specVersion: current.specVersion } : {}),
    changes: plan.changes,
    policy,
    placements,
  };
}
