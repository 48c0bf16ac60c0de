// /v1/tasks routes: submit, list, show, stop. Wiring only: rules live in core/.
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { enforceContainerPolicy } from '../../core/containerPolicy.js';
import { ConflictError, ValidationError } from '../../core/errors.js';
import { policyRegistry } from '../../core/scheduler/index.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { newTask } from '../../core/taskStateMachine.js';
import { TASK_STATES, type TaskRecord, type TaskState } from '../../core/types.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';
import { storeSubmittedTask } from './placeOnSubmit.js';

const TASK_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export const TaskIdParams = z.strictObject({
  id: z.string().regex(TASK_ID, 'must be a task id (letters, digits, _ -; at most 64)'),
});

export const TaskListQuery = z.strictObject({
  state: z
    .string()
    .max(256)
    .regex(/^[A-Za-z, ]*$/, 'must be task states separated by commas, e.g. RUNNING,PENDING')
    .optional(),
});

const newTaskId = () => `t${randomBytes(6).toString('hex')}`;

function defaultName(image: string, id: string): string {
  const base = image.split('@')[0]!.split('/').pop()!.split(':')[0]!;
  return `${base}-${id.slice(1, 7)}`;
}

export async function submitTask(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit']);
  const { config } = getDeps();
  const id = newTaskId();
  const body = event.body as unknown;
  const spec = validateTaskSpec(body, () =>
    defaultName(String((body as { image?: unknown })?.image ?? 'task'), id),
  );
  if (spec.scheduler && !policyRegistry.has(spec.scheduler)) {
    throw new ValidationError(
      'scheduler',
      `unknown policy "${spec.scheduler}"; known: ${policyRegistry.names().join(', ')}`,
    );
  }
  enforceContainerPolicy(spec, config);
  if (!spec.scheduler && config.defaultPolicy) spec.scheduler = config.defaultPolicy;
  const { task, event: created } = newTask(id, spec, `api:${context.principal?.name ?? 'user'}`);
  return jsonResponse(201, { task: await storeSubmittedTask(getDeps(), task, created) });
}

export async function listTasks(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const { tasks } = getDeps();
  const filter = event.queryStringParameters?.state;
  if (!filter) return jsonResponse(200, { tasks: await tasks.listAll() });
  const states = [...new Set(filter.split(',').map((s) => s.trim().toUpperCase()))];
  const unknown = states.filter((s) => !TASK_STATES.includes(s as TaskState));
  if (unknown.length > 0) {
    throw new ValidationError(
      'state',
      `unknown state ${unknown[0]}; use ${TASK_STATES.join(', ')}`,
    );
  }
  const found = await tasks.listByState(states as TaskState[]);
  found.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return jsonResponse(200, { tasks: found });
}

function taskIdParam(event: APIGatewayProxyEventV2): string {
  const id = event.pathParameters?.id ?? '';
  if (!TASK_ID.test(id)) throw new ValidationError('id', 'must be a task id');
  return id;
}

export async function getTask(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const { tasks } = getDeps();
  const id = taskIdParam(event);
  const task = await tasks.require(id);
  return jsonResponse(200, { task, events: await tasks.events(id) });
}

/** Stop: PENDING/LOST tasks stop at once; placed ones go STOPPING and their worker is told. */
export async function stopTask(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, ['submit']);
  const { tasks, queues } = getDeps();
  const id = taskIdParam(event);
  const by = `api:${principal.name}`;
  for (let tries = 0; tries < 5; tries++) {
    const task = await tasks.require(id);
    try {
      const stopped = await stopOnce(task, by);
      if (stopped.state === 'STOPPING' && stopped.workerId) {
        // The queue URL follows from the worker id (no read of its record). A worker gone
        // with its queue is the reconciler's to settle (its tasks end STOPPED).
        const queueUrl = await queues.workerQueueUrl(stopped.workerId);
        await queues
          .sendTaskToWorker(queueUrl, 'stop', stopped)
          .catch((error: Error) =>
            console.error(`stop ${id}: no stop message sent: ${error.message}`),
          );
      }
      return jsonResponse(202, { task: stopped });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError(`task ${id} kept changing while stopping it`);
}

async function stopOnce(task: TaskRecord, by: string): Promise<TaskRecord> {
  const { tasks } = getDeps();
  switch (task.state) {
    case 'PENDING':
    case 'LOST':
      return tasks.transition(task, { to: 'STOPPED', by, reason: 'stopped by user' });
    case 'SCHEDULED':
    case 'STARTING':
    case 'RUNNING':
      return tasks.transition(task, { to: 'STOPPING', by, reason: 'stop requested' });
    default:
      // STOPPING: the nudge is re-sent; COMPLETED, FAILED, STOPPED: nothing left to stop.
      return task;
  }
}
