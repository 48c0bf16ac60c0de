// An example scheduler plugin module: place tasks on the cheapest workers, and keep tasks
// that ask for it off spot capacity. Load it into the control plane with
//   CUBE_SCHEDULER_PLUGINS=/abs/path/to/examples/plugins/cheapest.ts cube up
// (a plain .mjs file works the same; a .ts one needs a control plane run by tsx, as `cube up`
// is), then run tasks with `cube run --scheduler cheapest ...`.
//
// Workers say what they cost with labels: `cube worker --label cost-per-hour=0.12
// --label lifecycle=spot`. Only types are imported, so the module stands alone.
import type { FilterPlugin, PolicyDefinition, ScorePlugin } from '../../core/scheduler/index.js';

/** Cheaper scores higher: 100 for free, 50 at 1/hour; workers with no price score 0. */
export const cheapestScorer: ScorePlugin = {
  name: 'cheapest',
  score(_task, worker) {
    const cost = Number(worker.labels['cost-per-hour']);
    if (worker.labels['cost-per-hour'] === undefined || !Number.isFinite(cost) || cost < 0) {
      return 0;
    }
    return 100 / (1 + cost);
  },
};

/** A task labelled `on-demand=true` never lands on a worker labelled `lifecycle=spot`. */
export const onDemandOnly: FilterPlugin = {
  name: 'on-demand-only',
  filter(task, worker) {
    if (task.labels['on-demand'] === 'true' && worker.labels.lifecycle === 'spot') {
      return 'spot worker (task wants on-demand)';
    }
    return undefined;
  },
};

export const filters = [onDemandOnly];
export const scorers = [cheapestScorer];

export const policies: PolicyDefinition[] = [
  {
    name: 'cheapest',
    description:
      'the cheapest worker that fits (label cost-per-hour), packed, never spot for on-demand tasks',
    // The built-in checks by name, then this module's own filter.
    filters: [
      'worker-ready',
      'not-cordoned',
      'constraints',
      'resources-fit',
      'host-ports',
      'on-demand-only',
    ],
    scorers: [
      { plugin: 'cheapest', weight: 3 },
      { plugin: 'bin-pack', weight: 1 },
    ],
  },
];
