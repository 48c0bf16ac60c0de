// Loads the user's scheduler plugin modules named in the control plane's configuration
// (CUBE_SCHEDULER_PLUGINS) once per process, before the first request or batch: every
// function that names policies (the API validates them, the scheduler places with them)
// sees the same registry. A module that fails to load fails every invocation loudly rather
// than leaving tasks pending under a policy nobody registered.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type middy from '@middy/core';
import {
  type InstalledPlugins,
  installPluginModule,
  PluginModuleError,
  type PolicyRegistry,
  policyRegistry,
} from '../../core/scheduler/index.js';
import { getDeps } from '../shared/deps.js';

/** A file path (absolute, or relative to the working directory), a file: URL or a package. */
export function pluginSpecifier(entry: string): string {
  if (entry.startsWith('file:')) return entry;
  if (isAbsolute(entry) || entry.startsWith('.')) return pathToFileURL(resolve(entry)).href;
  return entry;
}

/** Imports each module in order and installs it; the first failure names its module. */
export async function loadSchedulerPlugins(
  entries: readonly string[],
  registry: PolicyRegistry = policyRegistry,
  importModule: (specifier: string) => Promise<unknown> = (s) => import(s),
): Promise<InstalledPlugins[]> {
  const installed: InstalledPlugins[] = [];
  for (const entry of entries) {
    let namespace: unknown;
    try {
      namespace = await importModule(pluginSpecifier(entry));
    } catch (error) {
      throw new PluginModuleError(entry, `cannot load: ${(error as Error).message}`, {
        cause: error,
      });
    }
    installed.push(installPluginModule(registry, namespace, entry));
  }
  return installed;
}

let loading: Promise<void> | undefined;

/** Loads the configured plugins once per process (a Lambda's cold start). */
export function ensureSchedulerPlugins(
  entries: readonly string[] = getDeps().config.schedulerPlugins,
  log: (line: string) => void = console.log,
): Promise<void> {
  loading ??= loadSchedulerPlugins(entries).then((all) => {
    for (const [i, p] of all.entries()) {
      log(
        `scheduler plugins: ${entries[i]} added policies [${p.policies.join(', ')}], ` +
          `filters [${p.filters.join(', ')}], scorers [${p.scorers.join(', ')}]`,
      );
    }
  });
  return loading;
}

/** Middy middleware that makes sure the plugins are in before the handler runs. */
export function schedulerPlugins<E, R>(): middy.MiddlewareObj<E, R> {
  return {
    before: async () => {
      await ensureSchedulerPlugins();
    },
  };
}
