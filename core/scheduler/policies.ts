// The policies Cube ships with. Each is filters (all the default feasibility checks) plus
// weighted scorers; new ones are registered in `policyRegistry`.
import { epvmLiveScorer, epvmScorer } from './epvm.js';
import { DEFAULT_FILTERS } from './filters.js';
import { roundRobinScorer } from './roundRobin.js';
import type { Policy } from './types.js';
import { binPackScorer, leastAllocatedScorer } from './utilization.js';

export const DEFAULT_POLICY = 'epvm';

export const BUILTIN_POLICIES: readonly Policy[] = [
  {
    name: 'epvm',
    description: 'least marginal opportunity cost on cpu and memory reservations (E-PVM)',
    filters: DEFAULT_FILTERS,
    scorers: [{ plugin: epvmScorer, weight: 1 }],
  },
  {
    name: 'epvm-live',
    description: 'E-PVM on the larger of reservations and measured use in the last heartbeat',
    filters: DEFAULT_FILTERS,
    scorers: [{ plugin: epvmLiveScorer, weight: 1 }],
  },
  {
    name: 'round-robin',
    description: 'each feasible worker in turn (by worker id)',
    filters: DEFAULT_FILTERS,
    scorers: [{ plugin: roundRobinScorer, weight: 1 }],
  },
  {
    name: 'bin-pack',
    description: 'fill the fullest worker that fits first (Nomad best fit)',
    filters: DEFAULT_FILTERS,
    scorers: [{ plugin: binPackScorer, weight: 1 }],
  },
  {
    name: 'least-allocated',
    description: 'spread onto the worker with the most free cpu and memory',
    filters: DEFAULT_FILTERS,
    scorers: [{ plugin: leastAllocatedScorer, weight: 1 }],
  },
];
