// Scale, roll back and delete a service. Each is one write of the service record conditional
// on its version (a controller's write in between is retried, another user's change wins),
// then a nudge to the controller, which does the work.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../../core/errors.js';
import { SERVICE_LIMITS } from '../../../core/services/spec.js';
import type { ServiceEvent, ServiceRecord } from '../../../core/services/types.js';
import type { AuthedContext } from '../../shared/auth.js';
import { type Deps, getDeps } from '../../shared/deps.js';
import { jsonResponse } from '../../shared/httpErrors.js';
import { nudge, startRollout } from './apply.js';
import { serviceView } from './view.js';

export const ScaleInput = z.strictObject({
  replicas: z.number().int('must be a whole number').min(0).max(SERVICE_LIMITS.replicas),
});

export const RollbackInput = z.strictObject({
  revision: z.number().int('must be a whole number').min(1).optional(),
});

type Change = (
  record: ServiceRecord,
  at: string,
) => { record: ServiceRecord; event: Omit<ServiceEvent, 'service' | 'at' | 'by'> } | undefined;

/** Reads, changes and writes the record (conditional on its version); nudges the controller. */
async function change(
  deps: Deps,
  name: string,
  by: string,
  how: Change,
  after?: (r: ServiceRecord) => Promise<void>,
) {
  for (let tries = 0; tries < 5; tries++) {
    const current = await deps.services.get(name);
    if (!current) throw new NotFoundError('service', name);
    const at = new Date().toISOString();
    const changed = how(current, at);
    if (!changed) return current;
    const record: ServiceRecord = {
      ...changed.record,
      specVersion: current.specVersion + 1,
      version: current.version + 1,
      updatedAt: at,
    };
    try {
      await deps.services.put(current, record, {
        events: [{ service: name, at, by, ...changed.event }],
      });
    } catch (error) {
      if (error instanceof ConflictError) continue;
      throw error;
    }
    await after?.(record);
    await nudge(deps, name);
    return record;
  }
  throw new ConflictError(`service ${name} kept changing`);
}

async function respond(deps: Deps, record: ServiceRecord, status = 200) {
  const { slots } = await deps.services.load(record.name);
  return jsonResponse(status, {
    service: serviceView(record, await deps.services.withTasks(slots)),
  });
}

const principal = (context: AuthedContext) => `api:${context.principal?.name ?? 'user'}`;
const nameOf = (event: APIGatewayProxyEventV2) => event.pathParameters?.name ?? '';

function refuseDeleting(record: ServiceRecord) {
  if (record.deleting) throw new ConflictError(`service ${record.name} is being deleted`);
}

export async function scaleService(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const deps = getDeps();
  const { replicas } = ScaleInput.parse(event.body);
  const record = await change(deps, nameOf(event), principal(context), (current, at) => {
    refuseDeleting(current);
    if (current.replicas === replicas) return undefined;
    const rollout =
      current.rollout.state === 'failed'
        ? startRollout(
            current.revision,
            at,
            current.stableRevision,
            `revision ${current.revision} rolling out again after a scale`,
          )
        : current.rollout;
    return {
      record: { ...current, replicas, rollout },
      event: {
        kind: 'scaled',
        revision: current.revision,
        reason: `replicas ${current.replicas} -> ${replicas}`,
      },
    };
  });
  return respond(deps, record);
}

/**
 * Rolls the given revision (default: the newest kept one before the target) forward again,
 * the same way as a new one; it becomes the target revision.
 */
export async function rollbackService(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const deps = getDeps();
  const name = nameOf(event);
  const input = RollbackInput.parse(event.body ?? {});
  const current = await deps.services.get(name);
  if (!current) throw new NotFoundError('service', name);
  refuseDeleting(current);
  const kept = await deps.services.revisions(name);
  const target =
    input.revision !== undefined
      ? kept.find((r) => r.revision === input.revision)
      : kept.find((r) => r.revision < current.revision);
  if (!target) {
    throw new NotFoundError(
      'revision',
      input.revision !== undefined
        ? `${input.revision} of service ${name} (kept: ${kept.map((r) => r.revision).join(', ')})`
        : `before ${current.revision} of service ${name}`,
    );
  }
  const record = await change(deps, name, principal(context), (latest, at) => {
    refuseDeleting(latest);
    if (latest.revision === target.revision && latest.rollout.state !== 'failed') return undefined;
    const reason = `rollback to revision ${target.revision} requested`;
    return {
      record: {
        ...latest,
        revision: target.revision,
        task: target.task,
        rollout: startRollout(target.revision, at, latest.stableRevision, reason),
      },
      event: { kind: 'rollback-started', revision: target.revision, reason },
    };
  });
  return respond(deps, record);
}

/** Marks the service deleted: the controller stops every replica, then removes the service. */
export async function deleteService(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const deps = getDeps();
  const record = await change(deps, nameOf(event), principal(context), (current) =>
    current.deleting
      ? undefined
      : {
          record: {
            ...current,
            deleting: true,
            rollout: {
              ...current.rollout,
              state: 'deleting',
              reason: 'deleting: stopping every replica',
            },
          },
          event: { kind: 'deleting', revision: current.revision, reason: 'delete requested' },
        },
  );
  return respond(deps, record, 202);
}
