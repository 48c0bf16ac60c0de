// Placement constraints on worker labels, written as one string each:
//   zone=a   zone!=a   zone in (a,b)   zone not in (a,b)   gpu exists   gpu not exists
// Parsed once at submit (a ValidationError names the bad one); the filter keeps the parsed
// form per spec so the hot loop never parses. As in Kubernetes' node affinity and Nomad,
// `!=` and `not in` hold on a worker that lacks the label.
import { ValidationError } from '../errors.js';
import type { TaskSpec, WorkerRecord } from '../types.js';
import type { FilterPlugin } from './types.js';

export type ConstraintOp = '=' | '!=' | 'in' | 'not in' | 'exists' | 'not exists';

export interface Constraint {
  key: string;
  op: ConstraintOp;
  values: readonly string[];
  /** Canonical spelling, also the filter's reason: `constraint zone in (a,b)`. */
  text: string;
}

export const MAX_CONSTRAINTS = 32;

const KEY = '[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?';
const VALUE = '[^\\s,()=!]+';
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|not\\s+in)\\s*\\(([^()]*)\\)$`, 'i');
const EXISTS = new RegExp(`^(${KEY})\\s+(exists|not\\s+exists)$`, 'i');
const SINGLE_VALUE = new RegExp(`^${VALUE}$`);

const SYNTAX = 'must be like zone=a, zone!=a, zone in (a,b), zone not in (a,b) or gpu exists';

function canonical(key: string, op: ConstraintOp, values: readonly string[]): string {
  if (op === '=' || op === '!=') return `${key}${op}${values[0]}`;
  if (op === 'in' || op === 'not in') return `${key} ${op} (${values.join(',')})`;
  return `${key} ${op}`;
}

const normalOp = (op: string) => op.toLowerCase().replace(/\s+/g, ' ');

/** Parses one constraint; returns the rule it breaks as a string instead of throwing. */
export function parseConstraint(text: string): Constraint | string {
  const s = text.trim();
  let key: string;
  let op: ConstraintOp;
  let values: string[] = [];
  let m = EQUALITY.exec(s);
  if (m) {
    key = m[1]!;
    op = m[2] === '!=' ? '!=' : '=';
    values = [m[3]!];
  } else if ((m = SET.exec(s))) {
    key = m[1]!;
    op = normalOp(m[2]!) as ConstraintOp;
    values = m[3]!.split(',').map((v) => v.trim());
    const bad = values.find((v) => !SINGLE_VALUE.test(v));
    if (bad !== undefined) {
      return bad === '' ? `'${s}': empty value in the list` : `'${s}': bad value '${bad}'`;
    }
    values = [...new Set(values)];
  } else if ((m = EXISTS.exec(s))) {
    key = m[1]!;
    op = normalOp(m[2]!) as ConstraintOp;
  } else {
    return `'${s}' ${SYNTAX}`;
  }
  return { key, op, values, text: canonical(key, op, values) };
}

/** Parses and validates a spec's constraints; throws ValidationError on the first bad one. */
export function parseConstraints(texts: readonly string[], field = 'constraints'): Constraint[] {
  if (texts.length > MAX_CONSTRAINTS) {
    throw new ValidationError(field, `at most ${MAX_CONSTRAINTS} constraints`);
  }
  return texts.map((text, i) => {
    const parsed = parseConstraint(text);
    if (typeof parsed === 'string') throw new ValidationError(`${field}.${i}`, parsed);
    return parsed;
  });
}

export function matchesConstraint(c: Constraint, labels: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(labels, c.key) ? labels[c.key] : undefined;
  switch (c.op) {
    case '=':
      return value === c.values[0];
    case '!=':
      return value !== c.values[0];
    case 'in':
      return value !== undefined && c.values.includes(value);
    case 'not in':
      return value === undefined || !c.values.includes(value);
    case 'exists':
      return value !== undefined;
    case 'not exists':
      return value === undefined;
  }
}

// Parsed constraints per spec array: specs are read once and placed many times.
const parsedBySpec = new WeakMap<readonly string[], Constraint[]>();

function constraintsOf(task: TaskSpec): Constraint[] | undefined {
  const texts = task.constraints;
  if (texts === undefined || texts.length === 0) return undefined;
  let parsed = parsedBySpec.get(texts);
  if (parsed === undefined) {
    // Validated at submit; a stored spec that no longer parses matches nothing.
    parsed = texts.map((t) => {
      const c = parseConstraint(t);
      return typeof c === 'string' ? { key: '', op: 'exists', values: [], text: t } : c;
    });
    parsedBySpec.set(texts, parsed);
  }
  return parsed;
}

/** The first constraint the worker breaks, as a reason (`constraint zone=b`), or undefined. */
export function unmetConstraint(task: TaskSpec, worker: WorkerRecord): string | undefined {
  const constraints = constraintsOf(task);
  if (constraints === undefined) return undefined;
  for (let i = 0; i < constraints.length; i++) {
    const c = constraints[i]!;
    if (!matchesConstraint(c, worker.labels)) return `constraint ${c.text}`;
  }
  return undefined;
}

export const constraintsMatch: FilterPlugin = {
  name: 'constraints',
  filter: unmetConstraint,
};
