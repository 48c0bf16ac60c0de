// What a task may ask of its worker's host beyond an ordinary container: privileged mode and
// host (bind) mounts are refused unless the control plane's operator allowed them.
import { ValidationError } from './errors.js';
import type { TaskSpec } from './types.js';

export interface ContainerPolicy {
  allowPrivileged: boolean;
  allowHostMounts: boolean;
}

/** Throws ValidationError naming the field when `spec` asks for something not allowed. */
export function enforceContainerPolicy(spec: TaskSpec, policy: ContainerPolicy): void {
  if (spec.privileged && !policy.allowPrivileged) {
    throw new ValidationError(
      'privileged',
      'is not allowed by this control plane (its operator can set CUBE_ALLOW_PRIVILEGED=1)',
    );
  }
  const index = (spec.mounts ?? []).findIndex((m) => m.type === 'bind');
  if (index >= 0 && !policy.allowHostMounts) {
    throw new ValidationError(
      `mounts.${index}.type`,
      'bind (host) mounts are not allowed by this control plane (its operator can set CUBE_ALLOW_HOST_MOUNTS=1); use a volume or tmpfs mount',
    );
  }
}
