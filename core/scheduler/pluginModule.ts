// A user's scheduler plugin module: what it may export and how it joins the registry.
// Pure: the control plane imports the module (functions/scheduler/plugins.ts) and hands
// the namespace here. A module exports (as named exports or on `default`):
//   filters:  FilterPlugin[]   registered by name, usable in any policy
//   scorers:  ScorePlugin[]    likewise
//   policies: PolicyDefinition[]  filters (default: the built-in feasibility checks) and
//             weighted scorers, each given as a plugin object or a registered plugin's name
import { InvalidPolicyError } from './errors.js';
import { DEFAULT_FILTERS } from './filters.js';
import type { PolicyRegistry } from './registry.js';
import type { FilterPlugin, Policy, ScorePlugin, WeightedScorer } from './types.js';

export interface PolicyDefinition {
  name: string;
  description?: string;
  /** Absent: the built-in feasibility checks (ready, not cordoned, constraints, resources, ports). */
  filters?: readonly (FilterPlugin | string)[];
  scorers: readonly { plugin: ScorePlugin | string; weight?: number }[];
}

export interface SchedulerPluginModule {
  filters?: readonly FilterPlugin[];
  scorers?: readonly ScorePlugin[];
  policies?: readonly PolicyDefinition[];
}

/** A plugin module that could not be installed; `source` names the module. */
export class PluginModuleError extends Error {
  override name = 'PluginModuleError';
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`scheduler plugin ${source}: ${message}`, options);
  }
}

export interface InstalledPlugins {
  filters: string[];
  scorers: string[];
  policies: string[];
}

function resolvePolicy(def: PolicyDefinition, registry: PolicyRegistry): Policy {
  const filters = (def.filters ?? DEFAULT_FILTERS).map((f) => {
    if (typeof f !== 'string') return f;
    const found = registry.filter(f);
    if (!found) {
      throw new InvalidPolicyError(
        def.name,
        `unknown filter '${f}' (known: ${registry.filterNames().join(', ')})`,
      );
    }
    return found;
  });
  const scorers: WeightedScorer[] = (def.scorers ?? []).map((s) => {
    const plugin = typeof s.plugin === 'string' ? registry.scorer(s.plugin) : s.plugin;
    if (!plugin) {
      throw new InvalidPolicyError(
        def.name,
        `unknown scorer '${String(s.plugin)}' (known: ${registry.scorerNames().join(', ')})`,
      );
    }
    return { plugin, weight: s.weight ?? 1 };
  });
  return {
    name: def.name,
    ...(def.description ? { description: def.description } : {}),
    filters,
    scorers,
  };
}

/**
 * Registers a module's plugins, then its policies (which may name those plugins). A name
 * already taken is an error: a plugin cannot silently replace a built-in.
 */
export function installPluginModule(
  registry: PolicyRegistry,
  namespace: unknown,
  source: string,
): InstalledPlugins {
  const ns = namespace as SchedulerPluginModule & { default?: SchedulerPluginModule };
  const mod: SchedulerPluginModule =
    ns?.filters || ns?.scorers || ns?.policies ? ns : (ns?.default ?? {});
  const installed: InstalledPlugins = { filters: [], scorers: [], policies: [] };
  const list = <T>(value: readonly T[] | undefined, what: string): readonly T[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new PluginModuleError(source, `${what} must be an array`);
    return value;
  };
  const filters = list(mod.filters, 'filters');
  const scorers = list(mod.scorers, 'scorers');
  const policies = list(mod.policies, 'policies');
  if (filters.length + scorers.length + policies.length === 0) {
    throw new PluginModuleError(source, 'exports no filters, scorers or policies');
  }
  try {
    for (const f of filters) {
      registry.registerFilter(f);
      installed.filters.push(f.name);
    }
    for (const s of scorers) {
      registry.registerScorer(s);
      installed.scorers.push(s.name);
    }
    for (const def of policies) {
      registry.register(resolvePolicy(def, registry));
      installed.policies.push(def.name);
    }
  } catch (error) {
    throw new PluginModuleError(source, (error as Error).message, { cause: error });
  }
  return installed;
}
