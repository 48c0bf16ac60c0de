// The task spec as users write it, its validation and its normalisation. One schema, used
// by the API (and later by the OpenAPI document); every error names the field and rule.
import { z } from 'zod';
import {
  addableCapabilitiesPattern,
  type ContainerPolicy,
  containerPolicyViolation,
  hostMountBases,
  policyRefusal,
} from './containerPolicy.js';
import { ValidationError } from './errors.js';
import {
  IMAGE_NAME_LENGTH,
  IMAGE_NAME_MAX_LENGTH,
  IMAGE_REFERENCE,
  IMAGE_REFERENCE_MAX_LENGTH,
} from './imageReference.js';
import {
  CONSTRAINT,
  MAX_CONSTRAINTS,
  parseConstraint,
  parseConstraints,
} from './scheduler/constraints.js';
import {
  distinctNames,
  exactlyOneOf,
  maxTotalChars,
  sameWhenGiven,
  text,
  uniqueBy,
  whenEquals,
} from './schemaRules.js';
import { SECRET_REF, SECRET_REF_RULE } from './secretRefs.js';
import type { MountSpec, RestartPolicy, TaskSpec } from './types.js';
import { coresToMillis, formatSize, parseSize, sizeJsonSchema } from './units.js';

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
  /** Docker refuses a memory limit below 6 MiB (0: no limit). */
  minMemory: 6 * 1024 ** 2,
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

// Segments of a path other than `..` (`.`, `...`, `..x` are names), without NUL.
const SEGMENT = '(?:[^/\\0.][^/\\0]*|\\.[^/\\0.][^/\\0]*|\\.\\.[^/\\0]+|\\.)?';
/** An absolute container or host path without `..` steps or NUL. */
const absolutePath = text(LIMITS.pathLength).regex(
  new RegExp(`^(?:/${SEGMENT})+$`),
  'must be an absolute path without .. steps',
);

/** `policy`'s refusal of what `spec` asks for, as its 400 text; undefined when allowed. */
const refusal = (policy: ContainerPolicy, spec: Partial<TaskSpec>) => {
  const v = containerPolicyViolation(spec as TaskSpec, policy);
  return v ? policyRefusal(v) : undefined;
};

/** `schema`, refused where `policy` refuses the spec `asSpec` makes of its value. */
function policed<T extends z.ZodType>(
  schema: T,
  policy: ContainerPolicy,
  asSpec: (value: z.output<T>) => Partial<TaskSpec>,
): T {
  return schema.superRefine((value, ctx) => {
    const problem = refusal(policy, asSpec(value));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }) as unknown as T;
}

const mountTarget = { target: absolutePath, readOnly: z.boolean().optional() };

/** A bind mount's host path: under the policy's host paths when it names some. */
function hostPath(policy: ContainerPolicy) {
  const bases = hostMountBases(policy);
  if (!bases) return absolutePath;
  const escaped = bases.map((b) => b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return policed(absolutePath, policy, (source) => ({
    mounts: [{ type: 'bind', source, target: '/', readOnly: false }],
  })).meta({ pattern: `^(?:${escaped.join('|')})(?:/${SEGMENT})*$` });
}

const bindMount = (policy: ContainerPolicy) =>
  z.strictObject({
    type: z.literal('bind').optional(),
    ...mountTarget,
    source: hostPath(policy),
  });
const volumeMount = z.strictObject({
  type: z.literal('volume'),
  ...mountTarget,
  source: z.string().regex(VOLUME_NAME, 'must be a volume name (letters, digits, _ . -)'),
});
const tmpfsMount = z.strictObject({ type: z.literal('tmpfs'), ...mountTarget });

// One shape per type, so the document says which source each takes; no type means bind.
const mount = (policy: ContainerPolicy) =>
  policy.allowHostMounts
    ? z.discriminatedUnion('type', [bindMount(policy), volumeMount, tmpfsMount], {
        error: 'must be bind, volume or tmpfs',
      })
    : z.discriminatedUnion('type', [volumeMount, tmpfsMount], {
        error: (issue) => {
          const type = (issue.input as { type?: unknown } | undefined)?.type;
          return type === undefined || type === 'bind'
            ? refusal(policy, { mounts: [{ type: 'bind', target: '/', readOnly: false }] })
            : 'must be volume or tmpfs';
        },
      });

/** Bytes as a whole number or text like 64m; `zero`: 0 is allowed below `min`. */
const size = (min: number, max: number, zero: boolean, minRule = `must be at least ${min}`) =>
  z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      const problem =
        bytes === undefined
          ? 'must be a whole number of bytes or a size like 64m, 1.5g'
          : bytes > max
            ? `must be at most ${formatSize(max)}`
            : bytes < min && !(zero && bytes === 0)
              ? minRule
              : undefined;
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      return bytes!;
    })
    .meta(sizeJsonSchema(min, max, zero));

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
// fraction finer than a millisecond means nothing to a timer, so it is rounded away.
const seconds = (min: number, max: number) =>
  z
    .number()
    .min(min, `must be at least ${min} s`)
    .max(max)
    .transform((v) => Math.round(v * 1000) / 1000);

const healthCheck = exactlyOneOf(
  z.strictObject({
    http: z
      .strictObject({
        port: z.number().int().min(1).max(65535),
        path: text(1024).startsWith('/', 'must start with /').default('/'),
        // The probe reaches the task's own container only, never an address of its choosing.
        host: z
          .never({
            error:
              "is not allowed: a health check probes the task's own container (its address, or loopback with network host)",
          })
          .optional(),
      })
      .optional(),
    command: z.array(text(LIMITS.commandArgLength)).min(1).max(64).optional(),
    interval: seconds(0.1, 3600).optional(),
    timeout: seconds(0.1, 600).optional(),
    retries: z.number().int().min(1).max(100).optional(),
    startPeriod: seconds(0, 3600).optional(),
  }),
  ['http', 'command'],
);

const port = z.strictObject({
  container: z.number().int().min(1).max(65535),
  host: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

// The document says a little more than the check (hostPortClash, which knows the network):
// no two ports share a protocol and host port, a port without one counting its container
// port, which is what the check holds to on the host network.
const ports = z
  .array(port)
  .max(LIMITS.ports)
  .meta({ 'x-cube-uniqueBy': [['protocol'], ['host', 'container']] });

/** The first host port two ports of a spec would both bind, as `tcp/80`. */
function hostPortClash(spec: {
  network?: string | undefined;
  ports?: { container: number; host?: number | undefined; protocol: string }[] | undefined;
}): string | undefined {
  const seen = new Set<string>();
  for (const p of spec.ports ?? []) {
    // On bridge a port with no host binds one the engine picks (never the same twice).
    const hostPort = p.host ?? (spec.network === 'host' ? p.container : undefined);
    if (hostPort === undefined) continue;
    const key = `${p.protocol}/${hostPort}`;
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return undefined;
}

/** What one control plane allows beyond the spec's own rules (its document says it too). */
export interface DeploymentRules extends ContainerPolicy {
  /** The registered scheduling policies; undefined: any policy name. */
  policies?: readonly string[];
}

const OPEN: DeploymentRules = {
  allowPrivileged: true,
  allowHostMounts: true,
  allowHostNetwork: true,
};

const NETWORKS = ['bridge', 'host', 'none'] as const;

function network(policy: ContainerPolicy) {
  const any = z.enum(NETWORKS);
  if (policy.allowHostNetwork) return any;
  return policed(any, policy, (network) => ({ network })).meta({
    enum: NETWORKS.filter((n) => n !== 'host'),
  });
}

function privileged(policy: ContainerPolicy) {
  if (policy.allowPrivileged) return z.boolean();
  return policed(z.boolean(), policy, (privileged) => ({ privileged })).meta({ const: false });
}

const capability = (example: string) =>
  z.string().regex(CAPABILITY, `must be a capability like NET_RAW or ${example}`);

/** Capabilities to add: Docker's default set, and others as the policy allows. */
function addedCapability(policy: ContainerPolicy) {
  const pattern = addableCapabilitiesPattern(policy);
  if (!pattern) return capability('NET_ADMIN');
  return policed(capability('NET_ADMIN'), policy, (c) => ({
    capAdd: [c.replace(/^CAP_/, '')],
  })).meta({ pattern });
}

function schedulerName(policies: readonly string[] | undefined) {
  const name = z.string().regex(NAME, 'must be a policy name').max(LIMITS.nameLength);
  if (!policies) return name;
  return name
    .refine((p) => policies.includes(p), {
      error: (issue) => `unknown policy "${issue.input}"; known: ${policies.join(', ')}`,
    })
    .meta({ enum: [...policies] });
}

/** The task spec's fields, without the rules across fields (for schemas that extend it). */
export function taskSpecFields(rules: DeploymentRules = OPEN) {
  return z.strictObject({
    name: z
      .string()
      .max(LIMITS.nameLength)
      .regex(NAME, 'must start with a letter or digit and hold only letters, digits, _ . -')
      .optional(),
    image: z
      .string()
      .min(1, 'is required')
      .max(IMAGE_REFERENCE_MAX_LENGTH)
      .regex(
        IMAGE_REFERENCE,
        'must be a Docker image reference like busybox:1.36 or registry:5000/team/app@sha256:<64 hex>',
      )
      .regex(
        IMAGE_NAME_LENGTH,
        `its repository name must be at most ${IMAGE_NAME_MAX_LENGTH} characters`,
      ),
    command: maxTotalChars(
      z.array(text(LIMITS.commandArgLength)).max(LIMITS.commandArgs),
      LIMITS.commandTotalLength,
    ).optional(),
    env: maxTotalChars(
      z
        .record(
          z
            .string()
            .max(LIMITS.envKeyLength, `keys must be at most ${LIMITS.envKeyLength} characters`)
            .regex(ENV_KEY, 'keys must be like NAME_1'),
          text(LIMITS.envValueLength),
        )
        .refine((env) => Object.keys(env).length <= LIMITS.envVars, {
          message: `at most ${LIMITS.envVars} variables`,
        })
        .meta({ maxProperties: LIMITS.envVars }),
      LIMITS.envTotalLength,
    ).optional(),
    cpu: z.number().positive('must be more than 0 cores').max(LIMITS.maxCpu).optional(),
    memory: size(
      LIMITS.minMemory,
      LIMITS.maxMemory,
      true,
      'must be 0 (no limit) or at least 6m (Docker refuses less)',
    ).optional(),
    disk: size(0, LIMITS.maxDisk, false).optional(),
    ports: ports.optional(),
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
        text(LIMITS.labelLength),
      )
      .refine((labels) => Object.keys(labels).length <= LIMITS.labels, {
        message: `at most ${LIMITS.labels} labels`,
      })
      .meta({ maxProperties: LIMITS.labels })
      .optional(),
    scheduler: schedulerName(rules.policies).optional(),
    constraints: z
      .array(
        z
          .string()
          .max(LIMITS.labelLength * 2)
          // The parser's own message names the bad part; CONSTRAINT says the same to the document.
          .superRefine((text, ctx) => {
            const parsed = parseConstraint(text);
            if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
          })
          .meta({ pattern: CONSTRAINT.source }),
      )
      .max(MAX_CONSTRAINTS)
      .optional(),
    network: network(rules).optional(),
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
    user: z
      .string()
      .max(65)
      .regex(USER, 'must be a user like nobody, 1000 or 1000:1000')
      .optional(),
    readOnlyRootfs: z.boolean().optional(),
    capDrop: z.array(capability('ALL')).max(LIMITS.capDrop).optional(),
    capAdd: z.array(addedCapability(rules)).max(LIMITS.capDrop).optional(),
    pidsLimit: z.number().int().min(16).max(LIMITS.maxPids).optional(),
    secrets: uniqueBy(
      z
        .array(
          z.strictObject({
            name: z
              .string()
              .max(LIMITS.envKeyLength)
              .regex(ENV_KEY, 'must be an environment variable name like DB_PASSWORD'),
            from: z.string().max(2048).regex(SECRET_REF, SECRET_REF_RULE),
          }),
        )
        .max(LIMITS.secrets),
      [['name']],
      {},
      (name) => `${name} is set twice (secrets and env name each variable once)`,
    ).optional(),
    privileged: privileged(rules).optional(),
    mounts: uniqueBy(
      z.array(mount(rules)).max(LIMITS.mounts),
      [['target']],
      {},
      (target) => `target ${target} is mounted twice`,
    ).optional(),
    logs: z.boolean().optional(),
  });
}

/** Fields only, as any control plane reads them (a service's task: `.omit` needs no refine). */
export const TaskSpecFields = taskSpecFields();

/**
 * The task spec a control plane with `rules` takes (the default: what any might take);
 * `named: false` leaves `name` out (a service's task takes the service's).
 */
export function taskSpecSchema(rules: DeploymentRules = OPEN, { named = true } = {}) {
  const all = taskSpecFields(rules);
  // Omitted before the rules across fields are added (zod cannot omit from a refined object).
  const base = named ? all : (all.omit({ name: true }) as unknown as typeof all);
  const fields = distinctNames(
    base,
    [{ keysOf: 'env' }, { itemsOf: 'secrets', field: 'name' }],
    (name) => `${name} is set twice (secrets and env name each variable once)`,
  );
  type Port = { container: number; host?: number | undefined };
  const remapped = (port: Port) => port.host !== undefined && port.host !== port.container;
  return whenEquals(fields, [
    {
      field: 'network',
      value: 'none',
      other: 'ports',
      otherSchema: { maxItems: 0 },
      holds: (ports) => (ports as unknown[]).length === 0,
      message: 'cannot publish ports with network none',
    },
    {
      // The process listens on the host itself: a different host port would be reserved while
      // nothing listens on it.
      field: 'network',
      value: 'host',
      other: 'ports',
      otherSchema: { items: sameWhenGiven(['host', 'container']) },
      holds: (ports) => !(ports as Port[]).some(remapped),
      at: (ports) => [(ports as Port[]).findIndex(remapped), 'host'],
      message:
        "must equal container with network host (host networking publishes the container's port as-is); omit host or set it equal",
    },
  ]).superRefine((spec, ctx) => {
    const clash = hostPortClash(spec);
    if (clash) {
      ctx.addIssue({
        code: 'custom',
        path: ['ports'],
        message: `host port ${clash} is listed twice`,
      });
    }
  });
}

/** The request body of POST /v1/tasks and /v1/schedule/dry-run, as any control plane reads it. */
export const TaskSpecInput = taskSpecSchema();
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
export function validateTaskSpec(
  input: unknown,
  defaultName: () => string,
  schema: ReturnType<typeof taskSpecSchema> = TaskSpecInput,
): TaskSpec {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw toValidationError(parsed.error);
  const spec = parsed.data;
  const network = spec.network ?? TASK_DEFAULTS.network;
  const ports = (spec.ports ?? []).map((p) => ({ ...p }));
  // Stored in canonical spelling (`zone in (a,b)`), which is also the reason text.
  const constraints = parseConstraints(spec.constraints ?? []).map((c) => c.text);
  const mounts = (spec.mounts ?? []).map(
    (m): MountSpec => ({
      type: m.type ?? 'bind',
      ...('source' in m ? { source: m.source } : {}),
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
