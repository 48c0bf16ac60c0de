// Custom scheduler plugins: the example module is loaded the way the control plane loads
// CUBE_SCHEDULER_PLUGINS, and its policy changes where a task goes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_FILTERS,
  installPluginModule,
  PluginModuleError,
  PolicyRegistry,
  placeTask,
  policyRegistry,
} from '../../core/scheduler/index.js';
import { loadSchedulerPlugins, pluginSpecifier } from '../../functions/scheduler/plugins.js';
import { allocated, ctxAt, GiB, task, worker } from '../core/schedulerFixtures.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/plugins/cheapest.ts', import.meta.url));

test('the example plugin, loaded from its path, changes a placement', async () => {
  const workers = [
    // busier and dearer: E-PVM avoids it anyway
    worker('cheap', { labels: { 'cost-per-hour': '0.05' }, allocated: allocated(2000, 4 * GiB) }),
    worker('dear', { labels: { 'cost-per-hour': '0.90' } }),
    worker('spot', {
      labels: { 'cost-per-hour': '0.01', lifecycle: 'spot' },
      allocated: allocated(3900, 6 * GiB),
    }),
  ];
  assert.equal(placeTask(task(), workers, 'epvm', ctxAt()).workerId, 'dear');
  assert.equal(policyRegistry.has('cheapest'), false);

  const [installed] = await loadSchedulerPlugins([EXAMPLE]);
  assert.deepEqual(installed, {
    filters: ['on-demand-only'],
    scorers: ['cheapest'],
    policies: ['cheapest'],
  });
  // spot is cheapest but has no cpu left for 500m; next cheapest wins
  assert.equal(placeTask(task(), workers, 'cheapest', ctxAt()).workerId, 'cheap');
  const small = task({ resources: { cpuMillis: 50, memoryBytes: GiB, diskBytes: 0 } });
  assert.equal(placeTask(small, workers, 'cheapest', ctxAt()).workerId, 'spot');
  // the module's own filter keeps on-demand tasks off spot, and says so
  const onDemand = { ...small, labels: { 'on-demand': 'true' } };
  const d = placeTask(onDemand, [workers[2]!], 'cheapest', ctxAt());
  assert.equal(d.reason, '0/1 workers fit: 1 spot worker (task wants on-demand)');
  // loading twice is refused rather than silently replacing
  await assert.rejects(loadSchedulerPlugins([EXAMPLE]), /already registered/);
});

test('a module that cannot load or names unknown plugins fails with its name', async () => {
  await assert.rejects(
    loadSchedulerPlugins(['/nonexistent/plugin.mjs']),
    (e: unknown) =>
      e instanceof PluginModuleError && /\/nonexistent\/plugin\.mjs: cannot load/.test(e.message),
  );
  const registry = new PolicyRegistry();
  assert.throws(() => installPluginModule(registry, {}, 'empty.mjs'), /exports no filters/);
  assert.throws(
    () =>
      installPluginModule(
        registry,
        { policies: [{ name: 'p', scorers: [{ plugin: 'nope' }] }] },
        'bad.mjs',
      ),
    /bad\.mjs: policy 'p': unknown scorer 'nope'/,
  );
  // a default export works too, and a policy without filters gets the built-in checks
  const flat = { name: 'flat', score: () => 50 };
  const out = installPluginModule(
    registry,
    {
      default: {
        scorers: [flat],
        policies: [{ name: 'flat-policy', scorers: [{ plugin: 'flat' }] }],
      },
    },
    'default.mjs',
  );
  assert.deepEqual(out.policies, ['flat-policy']);
  assert.deepEqual(
    registry.get('flat-policy').filters.map((f) => f.name),
    DEFAULT_FILTERS.map((f) => f.name),
  );
});

test('plugin entries: paths become file URLs, package names stay', () => {
  assert.match(pluginSpecifier('/abs/p.mjs'), /^file:\/\/\/abs\/p\.mjs$/);
  assert.match(pluginSpecifier('./rel.mjs'), /^file:\/\/.*\/rel\.mjs$/);
  assert.equal(pluginSpecifier('file:///x.mjs'), 'file:///x.mjs');
  assert.equal(pluginSpecifier('@acme/cube-plugin'), '@acme/cube-plugin');
});
