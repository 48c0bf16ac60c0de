// The task spec as users write it, its validation and its normalisation. One schema, used
// by the API (and later by the OpenAPI document); every error names the field and rule.
import { z } from 'zod';
import { ValidationError } from './errors.js';
import {
  IMAGE_REFERENCE,
  IMAGE_REFERENCE_MAX_LENGTH,
  imageReferenceProblem,
} from './imageReference.js';
import { MAX_CONSTRAINTS, parseConstraints } from './scheduler/constraints.js';
import { parseSecretRef, SECRET_REF_RULE } from './secretRefs.js';
import type { MountSpec, RestartPolicy, TaskSpec } from './types.js';
import { coresToMillis, parseSize } from './units.js';

export const TASK_DEFAULTS = {
  cpu: 0.1,
  memory: 128 * 1024 ** 2,
  disk: 0,
  network: 'bridge',
  stopSignal: 'SIGTERM',
  stopTimeoutSeconds: 10,
  /** A fork bomb stops here instead of taking the host down. */
  pidsLimit: 1024,
  health: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 },
} as const;

export const LIMITS = {
  nameLength: 63,
  commandArgs: 256,
  commandArgLength: 4096,
  /** All of a command's arguments together, in characters. */
  commandTotalLength: 64 * 1024,
  envVars: 128,
  envKeyLength: 256,
  envValueLength: 4096,
  /** All keys and values of env together, in characters. */
  envTotalLength: 64 * 1024,
  labels: 64,
  labelLength: 256,
  ports: 64,
  maxCpu: 1024,
  maxMemory: 16 * 1024 ** 4,
  maxDisk: 1024 ** 5,
  capDrop: 64,
  secrets: 64,
  /** pidsLimit's ceiling; the default is TASK_DEFAULTS.pidsLimit. */
  maxPids: 1_000_000,
  mounts: 32,
  pathLength: 1024,
};

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY = /^[a-zA-Z0-9]([a-zA-Z0-9._/-]*[a-zA-Z0-9])?$/;
// `name`, `uid`, `name:group`, `uid:gid` (Docker's --user).
const USER =
  /^(?:[a-zA-Z_][a-zA-Z0-9_.-]{0,31}|[0-9]{1,10})(?::(?:[a-zA-Z_][a-zA-Z0-9_.-]{0,31}|[0-9]{1,10}))?$/;
const CAPABILITY = /^(?:CAP_)?[A-Z][A-Z0-9_]{1,31}$/;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** An absolute container or host path without `..` steps or NUL. */
const absolutePath = z
  .string()
  .min(1, 'is required')
  .max(LIMITS.pathLength)
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((path) => !path.split('/').includes('..'), 'must not contain .. steps');

const mount = z
  .strictObject({
    type: z.enum(['bind', 'volume', 'tmpfs']).default('bind'),
    source: z.string().max(LIMITS.pathLength).optional(),
    target: absolutePath,
    readOnly: z.boolean().optional(),
  })
  .superRefine((m, ctx) => {
    const problem =
      m.type === 'tmpfs'
        ? m.source === undefined
          ? undefined
          : 'must be absent for a tmpfs mount'
        : m.source === undefined
          ? 'is required'
          : m.type === 'bind'
            ? absolutePath.safeParse(m.source).success
              ? undefined
              : 'must be an absolute host path without .. steps'
            : VOLUME_NAME.test(m.source)
              ? undefined
              : 'must be a volume name (letters, digits, _ . -)';
    if (problem) ctx.addIssue({ code: 'custom', path: ['source'], message: problem });
  });

const totalLength = (strings: readonly string[]) =>
  strings.reduce((sum, text) => sum + text.length, 0);

const size = (max: number) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const bytes = parseSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a size in bytes or like 64m, 1g' });
      return z.NEVER;
    }
    if (bytes > max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${max} bytes` });
      return z.NEVER;
    }
    return bytes;
  });

const RESTART = /^(never|always|on-failure(?::(\d{1,4}))?)$/;

export function parseRestartPolicy(text: string): RestartPolicy | undefined {
  const match = RESTART.exec(text);
  if (!match) return undefined;
  if (match[1] === 'never' || match[1] === 'always') return { mode: match[1] };
  return match[2] === undefined
    ? { mode: 'on-failure' }
    : { mode: 'on-failure', maxRestarts: Number(match[2]) };
}

export function formatRestartPolicy(policy: RestartPolicy): string {
  return policy.mode === 'on-failure' && policy.maxRestarts !== undefined
    ? `on-failure:${policy.maxRestarts}`
    : policy.mode;
}

// Durations are stored as DynamoDB numbers, which cannot hold magnitudes below 1e-130: a
// fraction finer than a millisecond means nothing to a timer anyway, so it is refused.
const seconds = (max: number) =>
  z
    .number()
    .min(0)
    .max(max)
    .refine((v) => v === 0 || v >= 0.001, 'must be 0 or at least 0.001 s');

const healthCheck = z
  .strictObject({
    http: z
      .strictObject({
        port: z.number().int().min(1).max(65535),
        path: z.string().startsWith('/', 'must start with /').max(1024).default('/'),
        // The probe reaches the task's own container only, never an address of its choosing.
        host: z
          .unknown()
          .refine((v) => v === undefined, {
            message:
              "is not allowed: a health check probes the task's own container (its address, or loopback with network host)",
          })
          .optional(),
      })
      .optional(),
    command: z.array(z.string().max(LIMITS.commandArgLength)).min(1).max(64).optional(),
    interval: seconds(3600).min(0.1, 'must be at least 0.1 s').optional(),
    timeout: seconds(600).min(0.1, 'must be at least 0.1 s').optional(),
    retries: z.number().int().min(1).max(100).optional(),
    startPeriod: seconds(3600).optional(),
  })
  .refine((h) => (h.http === undefined) !== (h.command === undefined), {
    message: 'give exactly one of http or command',
  });

const port = z.strictObject({
  container: z.number().int().min(1).max(65535),
  host: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

/** The request body of POST /v1/tasks. */
export const TaskSpecInput = z.strictObject({
  name: z
    .string()
    .max(LIMITS.nameLength)
    .regex(NAME, 'must start with a letter or digit and hold only letters, digits, _ . -')
    .optional(),
  image: z
    .string()
    .min(1, 'is required')
    .max(IMAGE_REFERENCE_MAX_LENGTH)
    .regex(IMAGE_REFERENCE, 'must be a Docker image reference like busybox:1.36')
    .superRefine((image, ctx) => {
      const problem = imageReferenceProblem(image);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  command: z
    .array(z.string().max(LIMITS.commandArgLength))
    .max(LIMITS.commandArgs)
    .refine((args) => totalLength(args) <= LIMITS.commandTotalLength, {
      message: `must be at most ${LIMITS.commandTotalLength} characters in all`,
    })
    .optional(),
  env: z
    .record(
      z
        .string()
        .max(LIMITS.envKeyLength, `keys must be at most ${LIMITS.envKeyLength} characters`)
        .regex(ENV_KEY, 'keys must be like NAME_1'),
      z.string().max(LIMITS.envValueLength),
    )
    .refine((env) => Object.keys(env).length <= LIMITS.envVars, {
      message: `at most ${LIMITS.envVars} variables`,
    })
    .refine((env) => totalLength(Object.entries(env).flat()) <= LIMITS.envTotalLength, {
      message: `must be at most ${LIMITS.envTotalLength} characters in all`,
    })
    .meta({ maxProperties: LIMITS.envVars })
    .optional(),
  cpu: z.number().positive('must be more than 0 cores').max(LIMITS.maxCpu).optional(),
  memory: size(LIMITS.maxMemory).optional(),
  disk: size(LIMITS.maxDisk).optional(),
  ports: z.array(port).max(LIMITS.ports).optional(),
  restart: z
    .string()
    .regex(RESTART, 'must be never, always, on-failure or on-failure:N')
    .optional(),
  labels: z
    .record(
      z
        .string()
        .max(LIMITS.labelLength)
        .regex(LABEL_KEY, 'keys must be like team or app.kubernetes/x'),
      z.string().max(LIMITS.labelLength),
    )
    .refine((labels) => Object.keys(labels).length <= LIMITS.labels, {
      message: `at most ${LIMITS.labels} labels`,
    })
    .meta({ maxProperties: LIMITS.labels })
    .optional(),
  scheduler: z.string().regex(NAME, 'must be a policy name').max(LIMITS.nameLength).optional(),
  constraints: z
    .array(z.string().max(LIMITS.labelLength * 2))
    .max(MAX_CONSTRAINTS)
    .optional(),
  network: z.enum(['bridge', 'host', 'none']).optional(),
  healthCheck: healthCheck.optional(),
  stopSignal: z
    .string()
    .regex(/^SIG[A-Z0-9+-]{2,10}$/, 'must be a signal name like SIGTERM or SIGINT')
    .optional(),
  // Docker's StopTimeout is whole seconds.
  stopTimeout: z.number().int('must be whole seconds').min(0).max(3600).optional(),
  // Fencing (docs/FAILURES.md): a worker cut off from the control plane this long stops the
  // task. At least 10 s: a busy worker's beats are 2 s apart, and a slow one must not trip it.
  stopAfterDisconnect: z
    .number()
    .int('must be whole seconds')
    .min(10, 'must be at least 10 seconds')
    .max(86_400, 'must be at most 86400 seconds (a day)')
    .optional(),
  maxReschedules: z.number().int().min(0).max(1000).optional(),
  user: z.string().max(65).regex(USER, 'must be a user like nobody, 1000 or 1000:1000').optional(),
  readOnlyRootfs: z.boolean().optional(),
  capDrop: z
    .array(z.string().regex(CAPABILITY, 'must be a capability like NET_RAW or ALL'))
    .max(LIMITS.capDrop)
    .optional(),
  capAdd: z
    .array(z.string().regex(CAPABILITY, 'must be a capability like NET_RAW or NET_ADMIN'))
    .max(LIMITS.capDrop)
    .optional(),
  pidsLimit: z.number().int().min(16).max(LIMITS.maxPids).optional(),
  secrets: z
    .array(
      z.strictObject({
        name: z
          .string()
          .max(LIMITS.envKeyLength)
          .regex(ENV_KEY, 'must be an environment variable name like DB_PASSWORD'),
        from: z
          .string()
          .max(2048)
          .refine((from) => parseSecretRef(from) !== undefined, SECRET_REF_RULE),
      }),
    )
    .max(LIMITS.secrets)
    .optional(),
  privileged: z.boolean().optional(),
  mounts: z.array(mount).max(LIMITS.mounts).optional(),
  logs: z.boolean().optional(),
});
export type TaskSpecInput = z.input<typeof TaskSpecInput>;

/** Turns a zod error into our ValidationError naming the first offending field. */
export function toValidationError(error: z.ZodError): ValidationError {
  const issue = error.issues[0];
  if (!issue) return new ValidationError('', 'invalid request');
  const field = issue.path.map(String).join('.');
  let rule = issue.message;
  if (issue.code === 'unrecognized_keys') {
    return new ValidationError([field, ...issue.keys].filter(Boolean).join('.'), 'unknown field');
  }
  if (issue.code === 'invalid_type' && rule.includes('received undefined')) rule = 'is required';
  // A record key's own rule (e.g. `keys must be like NAME_1`), not zod's generic text.
  if (issue.code === 'invalid_key' && issue.issues[0]) rule = issue.issues[0].message;
  return new ValidationError(field, rule);
}

/** Validates a user's spec and returns it normalised; throws ValidationError. */
export function validateTaskSpec(input: unknown, defaultName: () => string): TaskSpec {
  const parsed = TaskSpecInput.safeParse(input);
  if (!parsed.success) throw toValidationError(parsed.error);
  const spec = parsed.data;
  const network = spec.network ?? TASK_DEFAULTS.network;
  const ports = (spec.ports ?? []).map((p) => ({ ...p }));
  if (spec.memory !== undefined && spec.memory > 0 && spec.memory < 6 * 1024 ** 2) {
    throw new ValidationError('memory', 'must be at least 6m (Docker refuses less)');
  }
  if (network === 'none' && ports.length > 0) {
    throw new ValidationError('ports', 'cannot publish ports with network none');
  }
  const seen = new Set<string>();
  for (const p of ports) {
    // On bridge a port with no host binds one the engine picks (never the same twice).
    const hostPort = p.host ?? (network === 'host' ? p.container : undefined);
    if (hostPort === undefined) continue;
    const key = `${p.protocol}/${hostPort}`;
    if (seen.has(key)) throw new ValidationError('ports', `host port ${key} is listed twice`);
    seen.add(key);
  }
  const secretNames = new Set<string>();
  for (const [index, secret] of (spec.secrets ?? []).entries()) {
    if (secretNames.has(secret.name) || spec.env?.[secret.name] !== undefined) {
      throw new ValidationError(
        `secrets.${index}.name`,
        `${secret.name} is set twice (secrets and env name each variable once)`,
      );
    }
    secretNames.add(secret.name);
  }
  // Stored in canonical spelling (`zone in (a,b)`), which is also the reason text.
  const constraints = parseConstraints(spec.constraints ?? []).map((c) => c.text);
  const targets = new Set<string>();
  for (const m of spec.mounts ?? []) {
    if (targets.has(m.target)) {
      throw new ValidationError('mounts', `target ${m.target} is mounted twice`);
    }
    targets.add(m.target);
  }
  const mounts = (spec.mounts ?? []).map(
    (m): MountSpec => ({
      type: m.type,
      ...(m.source !== undefined ? { source: m.source } : {}),
      target: m.target,
      readOnly: m.readOnly ?? false,
    }),
  );
  // Stored without CAP_ and once each, the way Docker reports them.
  const capDrop = [...new Set((spec.capDrop ?? []).map((c) => c.replace(/^CAP_/, '')))];
  const capAdd = [...new Set((spec.capAdd ?? []).map((c) => c.replace(/^CAP_/, '')))];
  const restart = parseRestartPolicy(spec.restart ?? 'never')!;
  if (spec.maxReschedules !== undefined) restart.maxReschedules = spec.maxReschedules;
  const h = spec.healthCheck;
  const d = TASK_DEFAULTS.health;
  return {
    name: spec.name ?? defaultName(),
    image: spec.image,
    command: spec.command ?? [],
    env: spec.env ?? {},
    resources: {
      cpuMillis: Math.max(1, coresToMillis(spec.cpu ?? TASK_DEFAULTS.cpu)),
      memoryBytes: spec.memory ?? TASK_DEFAULTS.memory,
      diskBytes: spec.disk ?? TASK_DEFAULTS.disk,
    },
    ports,
    restart,
    labels: spec.labels ?? {},
    ...(spec.scheduler ? { scheduler: spec.scheduler } : {}),
    ...(constraints.length > 0 ? { constraints } : {}),
    network,
    ...(h
      ? {
          healthCheck: {
            ...(h.http ? { http: { port: h.http.port, path: h.http.path } } : {}),
            ...(h.command ? { command: h.command } : {}),
            intervalSeconds: h.interval ?? d.intervalSeconds,
            timeoutSeconds: h.timeout ?? d.timeoutSeconds,
            retries: h.retries ?? d.retries,
            startPeriodSeconds: h.startPeriod ?? d.startPeriodSeconds,
          },
        }
      : {}),
    stopSignal: spec.stopSignal ?? TASK_DEFAULTS.stopSignal,
    stopTimeoutSeconds: spec.stopTimeout ?? TASK_DEFAULTS.stopTimeoutSeconds,
    ...(spec.stopAfterDisconnect !== undefined
      ? { stopAfterDisconnectSeconds: spec.stopAfterDisconnect }
      : {}),
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    ...(spec.readOnlyRootfs ? { readOnlyRootfs: true } : {}),
    ...(capDrop.length > 0 ? { capDrop } : {}),
    ...(capAdd.length > 0 ? { capAdd } : {}),
    ...(spec.pidsLimit !== undefined ? { pidsLimit: spec.pidsLimit } : {}),
    ...(spec.secrets?.length
      ? { secrets: spec.secrets.map((x) => ({ name: x.name, from: x.from })) }
      : {}),
    ...(spec.privileged ? { privileged: true } : {}),
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(spec.logs === false ? { logs: false } : {}),
  };
}
