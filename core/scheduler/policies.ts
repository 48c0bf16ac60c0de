// The plugins and policies Cube ships with. Each policy is filters (all the default
// feasibility checks) plus weighted scorers; new ones are registered in `policyRegistry`.
import { constraintsMatch } from './constraints.js';
import { epvmLiveScorer, epvmScorer } from './epvm.js';
import {
  DEFAULT_FILTERS,
  engineAnswering,
  notCordoned,
  resourcesFit,
  workerReady,
} from './filters.js';
import { hostPortsFree } from './ports.js';
import { roundRobinScorer } from './roundRobin.js';
import { spreadScorer } from './spread.js';
import type { FilterPlugin, Policy, ScorePlugin } from './types.js';
import { binPackScorer, leastAllocatedScorer } from './utilization.js';

export const BUILTIN_FILTERS: readonly FilterPlugin[] = [
  workerReady,
  engineAnswering,
  notCordoned,
  constraintsMatch,
  resourcesFit,
  hostPortsFree,
];

export const BUILTIN_SCORERS: readonly ScorePlugin[] = [
  epvmScorer,
  epvmLiveScorer,
  roundRobinScorer as ScorePlugin,
  binPackScorer,
  leastAllocatedScorer,
  spreadScorer as ScorePlugin,
];

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
  {
    name: 'spread',
    description:
      "spread a task's group (label cube.group, else its name) over the values of a worker " +
      'label (task label cube.spread-by, default zone), then onto the emptier worker',
    filters: DEFAULT_FILTERS,
    scorers: [
      { plugin: spreadScorer as ScorePlugin, weight: 3 },
      { plugin: leastAllocatedScorer, weight: 1 },
    ],
  },
];
