// The service spec as users write it (the JSON a YAML file parses to), its validation and
// its normalisation. The task inside is the task spec of POST /v1/tasks; every error names
// the field (`task.image`, `update.maxSurge`) and the rule.
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { notAll, ordered } from '../schemaRules.js';
import {
  type DeploymentRules,
  taskSpecSchema,
  toValidationError,
  validateTaskSpec,
} from '../taskSpec.js';
import type { ServiceSpec, UpdatePolicy } from './types.js';

export const UPDATE_DEFAULTS: UpdatePolicy = {
  maxSurge: 1,
  maxUnavailable: 0,
  minHealthyTime: 10,
  healthyDeadline: 300,
  progressDeadline: 600,
  autoRollback: true,
};

export const SERVICE_LIMITS = { nameLength: 40, replicas: 1000, revisionsKept: 10 };

/** DNS-label-like, short enough that replica task ids stay within 64 characters. */
export const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const SERVICE_NAME_RULE =
  'must be lower-case letters, digits and -, starting and ending with a letter or digit, at most 40';

export const serviceName = z
  .string()
  .min(1, 'is required')
  .max(SERVICE_LIMITS.nameLength, SERVICE_NAME_RULE)
  .regex(SERVICE_NAME, SERVICE_NAME_RULE);

// DynamoDB cannot hold magnitudes below 1e-130: no fraction finer than a millisecond.
const duration = (max: number) =>
  z
    .number()
    .min(0)
    .max(max)
    .refine((v) => v === 0 || v >= 0.001, 'must be 0 or at least 0.001 s')
    .meta({ anyOf: [{ const: 0 }, { minimum: 0.001 }] });

const count = z.number().int('must be a whole number').min(0).max(SERVICE_LIMITS.replicas);

const PERCENT = /^(100|[1-9]?[0-9])%$/;
const PERCENT_RULE = 'must be a whole number or a percentage 0%..100%, such as 25%';
/** A number of replicas, or a percentage of `replicas` (Kubernetes' IntOrString). */
const countOrPercent = z.union([count, z.string().regex(PERCENT, PERCENT_RULE)], {
  error: PERCENT_RULE,
});

/** Each field's default, which the document gives too (the rules across fields use it). */
const withDefault = <T extends z.ZodType>(schema: T, key: keyof UpdatePolicy) =>
  schema.meta({ default: UPDATE_DEFAULTS[key] }).optional();

export const UpdatePolicyInput = ordered(
  notAll(
    z.strictObject({
      maxSurge: withDefault(countOrPercent, 'maxSurge'),
      maxUnavailable: withDefault(countOrPercent, 'maxUnavailable'),
      minHealthyTime: withDefault(duration(3600), 'minHealthyTime'),
      healthyDeadline: withDefault(
        duration(86_400).min(0.1, 'must be at least 0.1 s'),
        'healthyDeadline',
      ),
      progressDeadline: withDefault(
        duration(86_400).min(0.1, 'must be at least 0.1 s'),
        'progressDeadline',
      ),
      autoRollback: withDefault(z.boolean(), 'autoRollback'),
    }),
    { maxSurge: [0, '0%'], maxUnavailable: [0, '0%'] },
    UPDATE_DEFAULTS as unknown as Record<string, unknown>,
    'cannot be 0 when maxUnavailable is 0 too (a rollout could never start)',
  ),
  [
    {
      field: 'healthyDeadline',
      than: 'minHealthyTime',
      message: 'must be more than minHealthyTime',
    },
    {
      field: 'progressDeadline',
      than: 'healthyDeadline',
      orEqual: true,
      message: 'must be at least healthyDeadline',
    },
  ],
  UPDATE_DEFAULTS as unknown as Record<string, number>,
);

/** The body of PUT /v1/services/{name} on a control plane with `rules` (default: any). */
export function serviceSpecSchema(rules?: DeploymentRules) {
  return z.strictObject({
    // The body may repeat the path's name, never contradict it (the document says so).
    name: serviceName.meta({ 'x-cube-equalsPathParameter': 'name' }).optional(),
    replicas: count.optional(),
    // Replicas take the service's name.
    task: taskSpecSchema(rules, { named: false }),
    update: UpdatePolicyInput.optional(),
  });
}

export const ServiceSpecInput = serviceSpecSchema();
export type ServiceSpecInput = z.input<typeof ServiceSpecInput>;

/**
 * Validates a service spec and returns it normalised; throws ValidationError. `name` is the
 * name in the path, which the body may repeat but not contradict.
 */
export function validateServiceSpec(
  input: unknown,
  name: string,
  schema: ReturnType<typeof serviceSpecSchema> = ServiceSpecInput,
): ServiceSpec {
  const checkedName = serviceName.safeParse(name);
  if (!checkedName.success) throw new ValidationError('name', SERVICE_NAME_RULE);
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw toValidationError(parsed.error);
  const raw = parsed.data;
  if (raw.name !== undefined && raw.name !== name) {
    throw new ValidationError('name', `must be the name in the path (${name}) or absent`);
  }
  const rawTask = (input as { task: Record<string, unknown> }).task;
  // Replicas are kept running: `always` unless the spec says otherwise. The task passed
  // `schema` (this control plane's rules); this reads it into the stored form.
  const taskInput = { restart: 'always', ...rawTask, name };
  let task: ServiceSpec['task'];
  try {
    task = validateTaskSpec(taskInput, () => name);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new ValidationError(error.field ? `task.${error.field}` : 'task', error.rule);
    }
    throw error;
  }
  const update = updatePolicy(raw.update ?? {});
  return { name, replicas: raw.replicas ?? 1, task, update };
}

function updatePolicy(input: z.infer<typeof UpdatePolicyInput>): UpdatePolicy {
  const update: UpdatePolicy = { ...UPDATE_DEFAULTS };
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined) (update as unknown as Record<string, unknown>)[key] = value;
  }
  return update;
}

/**
 * maxSurge and maxUnavailable in replicas for `replicas` replicas, as Kubernetes resolves
 * them: a percentage of `replicas`, rounded up for the surge and down for the unavailable;
 * when both come to 0 (a percentage of few replicas), one replica may be unavailable, so a
 * rollout can still start.
 */
export function rollingBounds(
  update: Pick<UpdatePolicy, 'maxSurge' | 'maxUnavailable'>,
  replicas: number,
): { maxSurge: number; maxUnavailable: number } {
  const resolve = (value: number | string, round: (x: number) => number) =>
    typeof value === 'number' ? value : round((Number.parseInt(value, 10) * replicas) / 100);
  const maxSurge = resolve(update.maxSurge, Math.ceil);
  const maxUnavailable = resolve(update.maxUnavailable, Math.floor);
  return maxSurge === 0 && maxUnavailable === 0
    ? { maxSurge, maxUnavailable: 1 }
    : { maxSurge, maxUnavailable };
}
