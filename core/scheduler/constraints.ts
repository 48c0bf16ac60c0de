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
  /** Canonical spelling: `zone in (a,b)`. */
  text: string;
  /** The filter's reason, `constraint zone in (a,b)`, built once (the hot loop counts by it). */
  reason: string;
}

export const MAX_CONSTRAINTS = 32;

const KEY = '[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?';
const VALUE = '[^\\s,()=!]+';
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|not\\s+in)\\s*\\(([^()]*)\\)$`, 'i');
const EXISTS = new RegExp(`^(${KEY})\\s+(exists|not\\s+exists)$`, 'i');
const SINGLE_VALUE = new RegExp(`^${VALUE}$`);
const caseless = (word: string) =>
  [...word].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join('');
const NOT = `${caseless('not')}\\s+`;
const LIST = `\\s*${VALUE}\\s*(?:,\\s*${VALUE}\\s*)*`;
/** Exactly the texts parseConstraint accepts, as one pattern (for schemas and documents). */
export const CONSTRAINT = new RegExp(
  `^\\s*(?:${KEY}\\s*(?:==|=|!=)\\s*${VALUE}` +
    `|${KEY}\\s+(?:${NOT})?${caseless('in')}\\s*\\(${LIST}\\)` +
    `|${KEY}\\s+(?:${NOT})?${caseless('exists')})\\s*$`,
);

export const CONSTRAINT_SYNTAX =
  'must be like zone=a, zone!=a, zone in (a,b), zone not in (a,b) or gpu exists';

function canonical(key: string, op: ConstraintOp, values: readonly string[]): string {
  if (op === '=' || op === '!=') return `${key}${op}${values[0]}`;
  if (op === 'in' || op === 'not in') return `${key} ${op} (${values.join(',')})`;
  return `${key} ${op}`;
}

const normalOp = (op: string) => op.toLowerCase().replace(/\s+/g, ' ') as ConstraintOp;

/** Parses one constraint; returns the rule it breaks as a string instead of throwing. */
export function parseConstraint(text: string): Constraint | string {
  const s = text.trim();
  const eq = EQUALITY.exec(s);
  if (eq) {
    const op: ConstraintOp = eq[2] === '!=' ? '!=' : '=';
    return make(eq[1]!, op, [eq[3]!]);
  }
  const set = SET.exec(s);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    const bad = values.find((v) => !SINGLE_VALUE.test(v));
    if (bad !== undefined) {
      return bad === '' ? `'${s}': empty value in the list` : `'${s}': bad value '${bad}'`;
    }
    return make(set[1]!, normalOp(set[2]!), [...new Set(values)]);
  }
  const exists = EXISTS.exec(s);
  if (exists) return make(exists[1]!, normalOp(exists[2]!), []);
  return `'${s}' ${CONSTRAINT_SYNTAX}`;
}

function make(key: string, op: ConstraintOp, values: string[]): Constraint {
  const text = canonical(key, op, values);
  return { key, op, values, text, reason: `constraint ${text}` };
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

export function matchesConstraint(
  c: Constraint,
  labels: Readonly<Record<string, string>>,
): boolean {
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

// Parsed constraints per spec array: specs are read once and placed many times. The last
// one is kept apart, since a placement asks for the same task's once per worker.
const parsedBySpec = new WeakMap<readonly string[], Constraint[]>();
let lastTexts: readonly string[] | undefined;
let lastParsed: Constraint[] = [];

function constraintsOf(task: TaskSpec): Constraint[] | undefined {
  const texts = task.constraints;
  if (texts === undefined || texts.length === 0) return undefined;
  if (texts === lastTexts) return lastParsed;
  let parsed = parsedBySpec.get(texts);
  if (parsed === undefined) {
    // Validated at submit; a stored spec that no longer parses matches nothing.
    parsed = texts.map((t) => {
      const c = parseConstraint(t);
      return typeof c === 'string'
        ? { key: '', op: 'exists', values: [], text: t, reason: `constraint ${t}` }
        : c;
    });
    parsedBySpec.set(texts, parsed);
  }
  lastTexts = texts;
  lastParsed = parsed;
  return parsed;
}

/** The first constraint the worker breaks, as a reason (`constraint zone=b`), or undefined. */
export function unmetConstraint(task: TaskSpec, worker: WorkerRecord): string | undefined {
  const constraints = constraintsOf(task);
  if (constraints === undefined) return undefined;
  for (let i = 0; i < constraints.length; i++) {
    const c = constraints[i]!;
    if (!matchesConstraint(c, worker.labels)) return c.reason;
  }
  return undefined;
}

export const constraintsMatch: FilterPlugin = {
  name: 'constraints',
  filter: unmetConstraint,
};
