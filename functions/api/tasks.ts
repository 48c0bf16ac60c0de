// /v1/tasks routes: submit, list, show, stop. Wiring only: rules live in core/.
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { awsClients } from '../../aws/clients.js';
import { ID_PREFIX_LENGTH } from '../../aws/historyItems.js';
import { findTasksByPrefix, listTaskPage } from '../../aws/taskPages.js';
import { ValidationError } from '../../core/errors.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { newTask } from '../../core/taskStateMachine.js';
import { TASK_STATES, type TaskState } from '../../core/types.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';
import { deployedTaskSpec } from './deployedSchemas.js';
import { PageQuery, pageLimit } from './pageQuery.js';
import { storeSubmittedTask } from './placeOnSubmit.js';
import { requestStop } from './requestStop.js';

const TASK_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export const TaskIdParams = z.strictObject({
  id: z.string().regex(TASK_ID, 'must be a task id (letters, digits, _ -; at most 64)'),
});

const caseless = (word: string) =>
  [...word].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join('');
const STATE = `(?:${TASK_STATES.map(caseless).join('|')})`;
/** Task states in any case, separated by commas; empty: every state. */
const STATE_LIST = new RegExp(`^\\s*(?:${STATE}\\s*(?:,\\s*${STATE}\\s*)*)?$`);

export const TaskListQuery = z.strictObject({
  state: z
    .string()
    .max(256)
    .regex(STATE_LIST, `must be task states separated by commas: ${TASK_STATES.join(', ')}`)
    .meta({ description: `Task states, any case, separated by commas: ${TASK_STATES.join(', ')}` })
    .optional(),
  // The prefix index's partition is an id's first ID_PREFIX_LENGTH characters.
  prefix: z
    .string()
    .regex(
      new RegExp(`^[a-zA-Z0-9_-]{${ID_PREFIX_LENGTH},64}$`),
      `must be the start of a task id, at least ${ID_PREFIX_LENGTH} characters (letters, digits, _ -)`,
    )
    .optional(),
  ...PageQuery.shape,
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
  // The schema holds this control plane's container policy and scheduling policies.
  const spec = validateTaskSpec(
    body,
    () => defaultName(String((body as { image?: unknown })?.image ?? 'task'), id),
    deployedTaskSpec(),
  );
  if (!spec.scheduler && config.defaultPolicy) spec.scheduler = config.defaultPolicy;
  const { task, event: created } = newTask(id, spec, `api:${context.principal?.name ?? 'user'}`);
  return jsonResponse(201, { task: await storeSubmittedTask(getDeps(), task, created) });
}

/**
 * A page of tasks (newest first within each state, live states first), or with `prefix` the
 * tasks whose id starts with it (by Query on the prefix index; up to `limit`).
 */
export async function listTasks(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const { config } = getDeps();
  const { ddb } = awsClients();
  const query = TaskListQuery.parse(event.queryStringParameters ?? {});
  const limit = pageLimit(query.limit);
  if (query.prefix !== undefined) {
    const found = await findTasksByPrefix(ddb, config, query.prefix, limit);
    return jsonResponse(200, { tasks: found });
  }
  const states = query.state?.trim() ? parseStates(query.state) : undefined;
  const page = await listTaskPage(ddb, config, {
    ...(states ? { states } : {}),
    limit,
    ...(query.nextToken ? { nextToken: query.nextToken } : {}),
  });
  return jsonResponse(200, page);
}

function parseStates(filter: string): TaskState[] {
  const states = [...new Set(filter.split(',').map((s) => s.trim().toUpperCase()))];
  const unknown = states.filter((s) => !TASK_STATES.includes(s as TaskState));
  if (unknown.length > 0) {
    throw new ValidationError(
      'state',
      `unknown state ${unknown[0]}; use ${TASK_STATES.join(', ')}`,
    );
  }
  return states as TaskState[];
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

/** Stop: see requestStop (the rules are core's stopRequest). */
export async function stopTask(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, ['submit']);
  const task = await requestStop(getDeps(), taskIdParam(event), `api:${principal.name}`);
  return jsonResponse(202, { task });
}
