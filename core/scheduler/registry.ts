// The one registry of scheduling policies, by name, and of the filter and score plugins
// policies are composed of (so a user's module can name built-ins instead of importing
// them). Built-ins are registered at load; plugin modules go through `installPluginModule`.
import { InvalidPolicyError, UnknownPolicyError } from './errors.js';
import { DEFAULT_FILTERS, defaultFeasibility } from './filters.js';
import { BUILTIN_FILTERS, BUILTIN_POLICIES, BUILTIN_SCORERS } from './policies.js';
import type { FilterPlugin, Policy, ScorePlugin } from './types.js';

/** A policy flattened into arrays for the hot loop (weights pre-divided by their sum). */
export interface CompiledPolicy {
  readonly policy: Policy;
  readonly filters: readonly FilterPlugin[];
  readonly scorers: readonly ScorePlugin[];
  readonly weights: Float64Array;
  readonly hasPreScore: boolean;
  readonly hasReserve: boolean;
  /** Some scorer reads `ctx.taskGroups`: the caller should count groups for it. */
  readonly usesTaskGroups: boolean;
}

const POLICY_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const PLUGIN_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Replaces the default filter sequence, wherever it appears, by its fused equivalent. */
function fuseDefaults(filters: readonly FilterPlugin[]): FilterPlugin[] {
  const out: FilterPlugin[] = [];
  const n = DEFAULT_FILTERS.length;
  for (let i = 0; i < filters.length; i++) {
    if (DEFAULT_FILTERS.every((f, k) => filters[i + k] === f)) {
      out.push(defaultFeasibility);
      i += n - 1;
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
    usesTaskGroups: scorers.some((s) => s.usesTaskGroups === true),
  };
}

function checkPluginName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !PLUGIN_NAME.test(name)) {
    throw new InvalidPolicyError(
      String(name),
      `${kind} plugin name must be lower-case letters, digits, . _ -`,
    );
  }
  return name;
}

export class PolicyRegistry {
  readonly #policies = new Map<string, CompiledPolicy>();
  readonly #filters = new Map<string, FilterPlugin>();
  readonly #scorers = new Map<string, ScorePlugin>();

  /** Makes a filter plugin known by its name; a taken name throws unless `replace`. */
  registerFilter(plugin: FilterPlugin, options: { replace?: boolean } = {}): void {
    const name = checkPluginName('filter', plugin?.name);
    if (typeof plugin.filter !== 'function') {
      throw new InvalidPolicyError(name, 'a filter plugin needs a filter() function');
    }
    if (this.#filters.has(name) && !options.replace) {
      throw new InvalidPolicyError(name, 'a filter plugin with this name is already registered');
    }
    this.#filters.set(name, plugin);
  }

  /** Makes a score plugin known by its name; a taken name throws unless `replace`. */
  registerScorer(plugin: ScorePlugin, options: { replace?: boolean } = {}): void {
    const name = checkPluginName('score', plugin?.name);
    if (typeof plugin.score !== 'function') {
      throw new InvalidPolicyError(name, 'a score plugin needs a score() function');
    }
    if (this.#scorers.has(name) && !options.replace) {
      throw new InvalidPolicyError(name, 'a score plugin with this name is already registered');
    }
    this.#scorers.set(name, plugin as ScorePlugin);
  }

  filter(name: string): FilterPlugin | undefined {
    return this.#filters.get(name);
  }

  scorer(name: string): ScorePlugin | undefined {
    return this.#scorers.get(name);
  }

  filterNames(): string[] {
    return [...this.#filters.keys()].sort();
  }

  scorerNames(): string[] {
    return [...this.#scorers.keys()].sort();
  }

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
for (const filter of BUILTIN_FILTERS) policyRegistry.registerFilter(filter);
for (const scorer of BUILTIN_SCORERS) policyRegistry.registerScorer(scorer);
for (const policy of BUILTIN_POLICIES) policyRegistry.register(policy);
