// What a task may ask of its worker's host beyond an ordinary container: privileged mode, host
// (bind) mounts and which host paths, host networking, capabilities beyond Docker's default set.
// One rule, held twice: the control plane's operator decides what may be submitted (a 400),
// and each worker host decides what it runs from its own environment, whatever a record says
// (the task fails with the host's rule). Both read the same CUBE_ALLOW_* settings. The task
// spec schema of a control plane (core/taskSpec.ts) refuses with policyRefusal's text per
// field, so its OpenAPI document says what its policy allows.
import { ValidationError } from './errors.js';
import type { TaskSpec } from './types.js';

export interface ContainerPolicy {
  allowPrivileged: boolean;
  allowHostMounts: boolean;
  allowHostNetwork: boolean;
  /** Host paths bind mounts may use (each a prefix, `CUBE_HOST_MOUNT_PATHS`); absent: any. */
  hostMountPaths?: string[];
  /** Capabilities beyond Docker's default set a task may add (`CUBE_ALLOW_CAPABILITIES`). */
  extraCapabilities?: string[];
}

/** The `--allow` words of `cube up` and `cube worker install`, and the settings they set. */
export const CONTAINER_ALLOWANCES = {
  'host-network': 'CUBE_ALLOW_HOST_NETWORK',
  privileged: 'CUBE_ALLOW_PRIVILEGED',
  'host-mounts': 'CUBE_ALLOW_HOST_MOUNTS',
} as const;
export type ContainerAllowance = keyof typeof CONTAINER_ALLOWANCES;

/** Docker's default capability set: adding one of these back (say NET_RAW) needs no allowance. */
export const DOCKER_DEFAULT_CAPABILITIES: ReadonlySet<string> = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

export interface PolicyViolation {
  /** The spec's field, as a 400 names it. */
  field: string;
  /** What is not allowed, e.g. `privileged containers are not allowed`. */
  rule: string;
  /** The setting that would allow it. */
  setting: string;
  /** What to do instead, if anything. */
  hint?: string;
}

/** The first thing in `spec` that `policy` does not allow, or undefined. */
export function containerPolicyViolation(
  spec: TaskSpec,
  policy: ContainerPolicy,
): PolicyViolation | undefined {
  if (spec.privileged && !policy.allowPrivileged) {
    return {
      field: 'privileged',
      rule: 'privileged containers are not allowed',
      setting: 'CUBE_ALLOW_PRIVILEGED',
    };
  }
  if (spec.network === 'host' && !policy.allowHostNetwork) {
    return {
      field: 'network',
      rule: 'host networking is not allowed',
      setting: 'CUBE_ALLOW_HOST_NETWORK',
      hint: 'use bridge with published ports, or none',
    };
  }
  for (const [index, mount] of (spec.mounts ?? []).entries()) {
    if (mount.type !== 'bind') continue;
    if (!policy.allowHostMounts) {
      return {
        field: `mounts.${index}.type`,
        rule: 'bind (host) mounts are not allowed',
        setting: 'CUBE_ALLOW_HOST_MOUNTS',
        hint: 'use a volume or tmpfs mount',
      };
    }
    const paths = policy.hostMountPaths;
    if (paths && paths.length > 0 && !paths.some((p) => isUnder(mount.source ?? '', p))) {
      return {
        field: `mounts.${index}.source`,
        rule: `host path ${mount.source} is outside the allowed host paths (${paths.join(', ')})`,
        setting: 'CUBE_HOST_MOUNT_PATHS',
      };
    }
  }
  const extra = new Set(policy.extraCapabilities ?? []);
  for (const [index, capability] of (spec.capAdd ?? []).entries()) {
    if (DOCKER_DEFAULT_CAPABILITIES.has(capability) || extra.has(capability) || extra.has('ALL')) {
      continue;
    }
    return {
      field: `capAdd.${index}`,
      rule: `capability ${capability} is not allowed`,
      setting: 'CUBE_ALLOW_CAPABILITIES',
    };
  }
  return undefined;
}

function isUnder(path: string, prefix: string): boolean {
  const base = prefix.replace(/\/+$/, '');
  return path === base || path.startsWith(`${base}/`) || base === '';
}

/**
 * The host paths bind mounts may use, without trailing `/` (a path is allowed when it is one
 * or lies under one); undefined when any is.
 */
export function hostMountBases(policy: ContainerPolicy): string[] | undefined {
  const bases = (policy.hostMountPaths ?? []).map((p) => p.replace(/\/+$/, ''));
  return bases.length === 0 || bases.includes('') ? undefined : bases;
}

const allowance = (setting: string) =>
  setting === 'CUBE_HOST_MOUNT_PATHS' || setting === 'CUBE_ALLOW_CAPABILITIES'
    ? setting
    : `${setting}=1`;

/** A control plane's 400 text for `v`: the rule, the setting that allows it, what to do. */
export const policyRefusal = (v: PolicyViolation): string =>
  `${v.rule} by this control plane (its operator can set ${allowance(v.setting)})${v.hint ? `; ${v.hint}` : ''}`;

/** The control plane's side: throws ValidationError (a 400) naming the field and the setting. */
export function enforceContainerPolicy(spec: TaskSpec, policy: ContainerPolicy): void {
  const v = containerPolicyViolation(spec, policy);
  if (v) throw new ValidationError(v.field, policyRefusal(v));
}

/**
 * The capabilities a task may add under `policy` (Docker's default set and the extra ones,
 * each also with `CAP_`), as a pattern; undefined when any may be added.
 */
export function addableCapabilitiesPattern(policy: ContainerPolicy): string | undefined {
  const extra = policy.extraCapabilities ?? [];
  if (extra.includes('ALL')) return undefined;
  const names = [...new Set([...DOCKER_DEFAULT_CAPABILITIES, ...extra])].sort();
  return `^(?:CAP_)?(?:${names.join('|')})$`;
}

/** The worker's side: the reason a task this host refuses fails with, or undefined. */
export function hostPolicyProblem(spec: TaskSpec, policy: ContainerPolicy): string | undefined {
  const v = containerPolicyViolation(spec, policy);
  return v ? `host policy: ${v.rule} on this worker (${v.setting})` : undefined;
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The policy the CUBE_ALLOW_* settings of an environment describe (closed when unset). */
export function containerPolicyFromEnv(env: NodeJS.ProcessEnv): ContainerPolicy {
  const paths = list(env.CUBE_HOST_MOUNT_PATHS);
  const capabilities = list(env.CUBE_ALLOW_CAPABILITIES).map((c) =>
    c.toUpperCase().replace(/^CAP_/, ''),
  );
  return {
    allowPrivileged: env.CUBE_ALLOW_PRIVILEGED === '1',
    allowHostMounts: env.CUBE_ALLOW_HOST_MOUNTS === '1',
    allowHostNetwork: env.CUBE_ALLOW_HOST_NETWORK === '1',
    ...(paths.length > 0 ? { hostMountPaths: paths } : {}),
    ...(capabilities.length > 0 ? { extraCapabilities: capabilities } : {}),
  };
}

/** The settings that give `policy` back to a child process's environment. */
export function containerPolicyEnv(policy: ContainerPolicy): Record<string, string> {
  return {
    ...(policy.allowPrivileged ? { CUBE_ALLOW_PRIVILEGED: '1' } : {}),
    ...(policy.allowHostMounts ? { CUBE_ALLOW_HOST_MOUNTS: '1' } : {}),
    ...(policy.allowHostNetwork ? { CUBE_ALLOW_HOST_NETWORK: '1' } : {}),
    ...(policy.hostMountPaths?.length
      ? { CUBE_HOST_MOUNT_PATHS: policy.hostMountPaths.join(',') }
      : {}),
    ...(policy.extraCapabilities?.length
      ? { CUBE_ALLOW_CAPABILITIES: policy.extraCapabilities.join(',') }
      : {}),
  };
}
