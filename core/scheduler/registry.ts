// The one registry of scheduling policies, by name. Built-ins are registered at load;
// later plugins and user modules call `policyRegistry.register(...)`.
import { InvalidPolicyError, UnknownPolicyError } from './errors.js';
import { defaultFeasibility, notCordoned, resourcesFit, workerReady } from './filters.js';
import { BUILTIN_POLICIES } from './policies.js';
import type { FilterPlugin, Policy, ScorePlugin } from './types.js';

/** A policy flattened into arrays for the hot loop (weights pre-divided by their sum). */
export interface CompiledPolicy {
  readonly policy: Policy;
  readonly filters: readonly FilterPlugin[];
  readonly scorers: readonly ScorePlugin[];
  readonly weights: Float64Array;
  readonly hasPreScore: boolean;
  readonly hasReserve: boolean;
}

const POLICY_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Replaces the default filter sequence, wherever it appears, by its fused equivalent. */
function fuseDefaults(filters: readonly FilterPlugin[]): FilterPlugin[] {
  const out: FilterPlugin[] = [];
  for (let i = 0; i < filters.length; i++) {
    if (
      filters[i] === workerReady &&
      filters[i + 1] === notCordoned &&
      filters[i + 2] === resourcesFit
    ) {
      out.push(defaultFeasibility);
      i += 2;
    } else {
      out.push(filters[i]!);
    }
  }
  return out;
}

function compile(policy: Policy): CompiledPolicy {
  const name = typeof policy?.name === 'string' ? policy.name : String(policy?.name);
  if (!POLICY_NAME.test(name)) {
    throw new InvalidPolicyError(name, 'name must be lower-case letters, digits, . _ -');
  }
  if (!Array.isArray(policy.filters) || !Array.isArray(policy.scorers)) {
    throw new InvalidPolicyError(name, 'filters and scorers must be arrays');
  }
  for (const f of policy.filters) {
    if (typeof f?.filter !== 'function') throw new InvalidPolicyError(name, 'bad filter plugin');
  }
  let total = 0;
  for (const s of policy.scorers) {
    if (typeof s?.plugin?.score !== 'function') {
      throw new InvalidPolicyError(name, 'bad score plugin');
    }
    if (!(Number.isFinite(s.weight) && s.weight > 0)) {
      throw new InvalidPolicyError(name, `weight of '${s.plugin.name}' must be positive`);
    }
    total += s.weight;
  }
  const scorers = policy.scorers.map((s) => s.plugin);
  return {
    policy,
    filters: fuseDefaults(policy.filters),
    scorers,
    weights: Float64Array.from(policy.scorers, (s) => s.weight / total),
    hasPreScore: scorers.some((s) => typeof s.preScore === 'function'),
    hasReserve: scorers.some((s) => typeof s.reserve === 'function'),
  };
}

export class PolicyRegistry {
  readonly #policies = new Map<string, CompiledPolicy>();

  /** Adds a policy; a taken name throws unless `replace` is set. */
  register(policy: Policy, options: { replace?: boolean } = {}): void {
    const compiled = compile(policy);
    if (this.#policies.has(policy.name) && !options.replace) {
      throw new InvalidPolicyError(policy.name, 'a policy with this name is already registered');
    }
    this.#policies.set(policy.name, compiled);
  }

  unregister(name: string): boolean {
    return this.#policies.delete(name);
  }

  has(name: string): boolean {
    return this.#policies.has(name);
  }

  /** @throws UnknownPolicyError */
  get(name: string): Policy {
    return this.compiled(name).policy;
  }

  /** @throws UnknownPolicyError */
  compiled(name: string): CompiledPolicy {
    const found = this.#policies.get(name);
    if (found === undefined) throw new UnknownPolicyError(name, this.names());
    return found;
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.#policies.keys()].sort();
  }
}

export const policyRegistry = new PolicyRegistry();
for (const policy of BUILTIN_POLICIES) policyRegistry.register(policy);
