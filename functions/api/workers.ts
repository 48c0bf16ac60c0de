// /v1/workers (registration) and /v1/nodes (listing).
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { awsClients } from '../../aws/clients.js';
import { listWorkerPage } from '../../aws/workerPages.js';
import type { Registration, WorkerStore } from '../../aws/workerStore.js';
import { advertiseAddressProblem, HOSTNAME } from '../../core/endpoints.js';
import { pinnedKeyMismatch } from '../../core/placementSignature.js';
import { text } from '../../core/schemaRules.js';
import { LIMITS, toValidationError } from '../../core/taskSpec.js';
import { WorkerNameTakenError } from '../../core/workerInstance.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { getDeps } from '../shared/deps.js';
import { HttpError, jsonResponse } from '../shared/httpErrors.js';
import { noteWorkerEvent } from '../shared/workerLifecycle.js';
import { PageQuery, pageLimit } from './pageQuery.js';

const H16 = '[0-9a-fA-F]{1,4}';
/** IPv6 in its full and `::`-shortened forms (no zone, no embedded IPv4): isIP says 6. */
const IPV6 =
  `^(?:(?:${H16}:){7}${H16}|(?:${H16}:){1,7}:|(?:${H16}:){1,6}:${H16}` +
  `|(?:${H16}:){1,5}(?::${H16}){1,2}|(?:${H16}:){1,4}(?::${H16}){1,3}` +
  `|(?:${H16}:){1,3}(?::${H16}){1,4}|(?:${H16}:){1,2}(?::${H16}){1,5}` +
  `|${H16}:(?::${H16}){1,6}|:(?:(?::${H16}){1,7}|:))$`;

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const WorkerRegistrationInput = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(LIMITS.nameLength)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must hold only letters, digits, _ . -'),
  labels: z
    .record(text(LIMITS.labelLength).min(1), text(LIMITS.labelLength))
    .refine((labels) => Object.keys(labels).length <= LIMITS.labels, {
      message: `at most ${LIMITS.labels} labels`,
    })
    .meta({ maxProperties: LIMITS.labels })
    .default({}),
  capacity: z.strictObject({ cpuMillis: count, memoryBytes: count, diskBytes: count }),
  version: text(64).optional(),
  /** The daemon instance (core/workerInstance.ts); absent from older daemons. */
  instance: z
    .strictObject({
      nonce: z.string().regex(/^[A-Za-z0-9-]{16,64}$/, 'must be 16-64 letters, digits or -'),
      hostname: text(253).min(1),
      pid: z
        .number()
        .int()
        .positive()
        .max(2 ** 31),
    })
    .optional(),
  address: z
    .string()
    .max(253)
    .superRefine((text, ctx) => {
      const problem = advertiseAddressProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    // What advertiseAddressProblem accepts, as patterns: a host name (IPv4 addresses are
    // among them; the length limit is maxLength) or an IPv6 address.
    .meta({
      description: 'An IPv4 or IPv6 address or a host name other workers reach this one at',
      anyOf: [{ pattern: HOSTNAME.source.replace('(?=.{1,253}$)', '') }, { pattern: IPV6 }],
    })
    .optional(),
  /** The placement key the worker pinned; another than this control plane's is a 409. */
  controlPlaneKey: z
    .string()
    .regex(/^ed25519:[A-Za-z0-9_-]{43}$/, 'must be ed25519:<43 base64url characters>')
    .optional(),
});

/** `{id}` of /v1/nodes/{id}/...: a worker id or a worker name. */
export const WorkerKeyParams = z.strictObject({
  id: z
    .string()
    // Starts as a name must (so never `.` or `..`, which a URL resolves away before it arrives).
    .regex(
      /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/,
      'must be a worker id or name (a letter or digit, then letters, digits, _ . -)',
    ),
});

/**
 * A worker's id follows from its name (within one control plane), so a restarted worker
 * finds its own queue, tasks and containers again.
 */
export const workerIdFor = (controlPlane: string, name: string) =>
  `w${createHash('sha256').update(`${controlPlane}/${name}`).digest('hex').slice(0, 12)}`;

export async function registerWorker(event: APIGatewayProxyEventV2, context: AuthedContext) {
  const principal = requireScope(context, ['worker']);
  const parsed = WorkerRegistrationInput.safeParse(event.body);
  if (!parsed.success) throw toValidationError(parsed.error);
  const { workers, queues, config, placementSigner } = getDeps();
  const input = parsed.data;
  // A token bound to a worker registers that worker only: it cannot take over another's queue.
  if (principal.worker !== undefined && principal.worker !== input.name) {
    throw new HttpError(
      403,
      'FORBIDDEN',
      `this token is bound to worker "${principal.worker}"; it cannot register "${input.name}"`,
    );
  }
  // A worker pinned to another key would refuse this answer: say so before storing anything.
  const { publicKey } = await placementSigner();
  const mismatch = input.controlPlaneKey && pinnedKeyMismatch(input.controlPlaneKey, publicKey);
  if (mismatch) throw new HttpError(409, 'PLACEMENT_KEY_MISMATCH', mismatch);
  const id = workerIdFor(config.prefix, input.name);
  const queueUrl = await queues.ensureWorkerQueue(id);
  const worker = await registerOrRefuse(workers, {
    id,
    name: input.name,
    labels: input.labels,
    capacity: input.capacity,
    queueUrl,
    ...(input.version ? { version: input.version } : {}),
    ...(input.address ? { address: input.address } : {}),
    ...(input.instance ? { instance: input.instance } : {}),
    heartbeatTtlMs: config.heartbeatTtlMs,
  });
  await noteWorkerEvent(
    getDeps(),
    worker,
    'up',
    `api:${principal.name}`,
    `worker ${worker.name} registered (version ${input.version ?? 'unknown'})`,
  );
  return jsonResponse(201, {
    worker,
    queueUrl,
    config: {
      tasksTable: config.tasksTable,
      workersTable: config.workersTable,
      eventsTable: config.eventsTable,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      // Also says this control plane honours the intervals workers declare.
      heartbeatIdleIntervalMs: config.heartbeatIdleIntervalMs,
      heartbeatTtlMs: config.heartbeatTtlMs,
      // How long the tasks it finishes are kept (their TTL is written with the last transition).
      retainFinishedMs: config.retainFinishedMs,
      restart: config.restart,
      // Workers nudge the scheduler themselves when they hand a task back (drain, reschedule).
      schedulingQueueUrl: await queues.schedulingQueueUrl(),
      // Where the worker puts a malformed message it received (and deletes it from its queue).
      deadLetterQueueUrl: await queues.workerDeadLetterQueueUrl(),
      // Where the worker ships its containers' output, one stream per task attempt.
      logGroup: config.logGroup,
      // The public key this control plane signs placements with; a worker may pin its own copy.
      controlPlaneKey: publicKey,
    },
  });
}

/** A second live daemon under one name: 409, with when the holder would count as gone. */
async function registerOrRefuse(workers: WorkerStore, registration: Registration) {
  try {
    return await workers.register(registration);
  } catch (error) {
    if (!(error instanceof WorkerNameTakenError)) throw error;
    throw new HttpError(409, 'WORKER_NAME_TAKEN', error.message, {
      'retry-after': String(Math.ceil(error.retryAfterMs / 1000)),
    });
  }
}

export const NodeListQuery = PageQuery;

/** A page of workers (those DOWN past their retention are left out). */
export async function listNodes(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, ['submit', 'read']);
  const query = NodeListQuery.parse(event.queryStringParameters ?? {});
  const page = await listWorkerPage(awsClients().ddb, getDeps().config, {
    limit: pageLimit(query.limit),
    ...(query.nextToken ? { nextToken: query.nextToken } : {}),
  });
  return jsonResponse(200, page);
}
