// The request schemas of this control plane: its container policy and its registered
// scheduling policies are part of them, so its OpenAPI document says what it allows and a
// request is refused by these schemas alone.
import type { z } from 'zod';
import { policyRegistry } from '../../core/scheduler/index.js';
import { serviceSpecSchema } from '../../core/services/spec.js';
import { type DeploymentRules, taskSpecSchema } from '../../core/taskSpec.js';
import { getDeps } from '../shared/deps.js';

/** What this control plane allows beyond the spec's own rules. */
export function deploymentRules(): DeploymentRules {
  const c = getDeps().config;
  return {
    allowPrivileged: c.allowPrivileged,
    allowHostMounts: c.allowHostMounts,
    allowHostNetwork: c.allowHostNetwork,
    ...(c.hostMountPaths ? { hostMountPaths: c.hostMountPaths } : {}),
    ...(c.extraCapabilities ? { extraCapabilities: c.extraCapabilities } : {}),
    policies: policyRegistry.names(),
  };
}

/** One schema per set of rules (plugins may register policies after start). */
function cached<T extends z.ZodType>(build: (rules: DeploymentRules) => T): () => T {
  let last: { key: string; schema: T } | undefined;
  return () => {
    const rules = deploymentRules();
    const key = JSON.stringify(rules);
    if (last?.key !== key) last = { key, schema: build(rules) };
    return last.schema;
  };
}

/** The body of POST /v1/tasks and /v1/schedule/dry-run. */
export const deployedTaskSpec = cached((rules) => taskSpecSchema(rules));

/** The body of PUT /v1/services/{name}. */
export const deployedServiceSpec = cached(serviceSpecSchema);
