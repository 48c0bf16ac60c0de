// Canonical forms and differences of specs: "the same spec applied again" must be seen as
// such whatever the key order of the file, and a dry-run shows what would change.
import type { TaskSpec } from '../types.js';
import type { ServiceRecord, ServiceSpec } from './types.js';

/** JSON with object keys sorted at every level: equal specs give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sameTaskSpec(a: TaskSpec, b: TaskSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export interface FieldChange {
  /** Dotted path, e.g. `task.image` or `task.env.MODE`. */
  field: string;
  from?: unknown;
  to?: unknown;
}

/** Leaf-level differences between two JSON values, in path order. */
export function diffValues(from: unknown, to: unknown, path = ''): FieldChange[] {
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(from) && isObject(to)) {
    const a = from as Record<string, unknown>;
    const b = to as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => diffValues(a[key], b[key], path ? `${path}.${key}` : key));
  }
  if (canonicalJson(from) === canonicalJson(to)) return [];
  return [
    {
      field: path,
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
    },
  ];
}

export type ApplyChange = 'created' | 'revision' | 'scale' | 'update-policy' | 'unchanged';

export interface ApplyPlan {
  change: ApplyChange;
  /** A new revision is made (the task spec differs from the target revision's). */
  newRevision: boolean;
  scaled: boolean;
  policyChanged: boolean;
  /** Field differences against the current target revision and settings. */
  changes: FieldChange[];
}

/**
 * What applying `spec` over the current record means: the same task spec makes no revision,
 * a change of `replicas` alone is a scale, of `update` alone a new policy for later rollouts.
 */
export function planApply(current: ServiceRecord | undefined, spec: ServiceSpec): ApplyPlan {
  if (!current || current.deleting) {
    return {
      change: 'created',
      newRevision: true,
      scaled: false,
      policyChanged: false,
      changes: diffValues({}, { replicas: spec.replicas, task: spec.task }),
    };
  }
  const taskChanges = diffValues(current.task, spec.task, 'task');
  const newRevision = taskChanges.length > 0;
  const scaled = current.replicas !== spec.replicas;
  const policyChanges = diffValues(current.update, spec.update, 'update');
  const changes = [
    ...(scaled ? [{ field: 'replicas', from: current.replicas, to: spec.replicas }] : []),
    ...taskChanges,
    ...policyChanges,
  ];
  const change: ApplyChange = newRevision
    ? 'revision'
    : scaled
      ? 'scale'
      : policyChanges.length > 0
        ? 'update-policy'
        : 'unchanged';
  return { change, newRevision, scaled, policyChanged: policyChanges.length > 0, changes };
}
