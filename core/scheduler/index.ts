// Cube's scheduler framework: pure placement logic, no I/O.
export {
  type Constraint,
  type ConstraintOp,
  constraintsMatch,
  MAX_CONSTRAINTS,
  matchesConstraint,
  parseConstraint,
  parseConstraints,
  unmetConstraint,
} from './constraints.js';
export {
  EPVM_L,
  EPVM_MAX_COST,
  epvmCost,
  epvmCostToScore,
  epvmLiveScorer,
  epvmMarginalCost,
  epvmScorer,
} from './epvm.js';
export { InvalidPolicyError, UnknownPolicyError } from './errors.js';
export {
  DEFAULT_FILTERS,
  engineAnswering,
  isHeartbeatFresh,
  notCordoned,
  REASON_CORDONED,
  REASON_CPU,
  REASON_DISK,
  REASON_ENGINE,
  REASON_MEMORY,
  REASON_NOT_READY,
  resourcesFit,
  workerReady,
} from './filters.js';
export { notePlacement, placeTask, rankWorkers, TOP_SCORES } from './place.js';
export {
  type InstalledPlugins,
  installPluginModule,
  PluginModuleError,
  type PolicyDefinition,
  type SchedulerPluginModule,
} from './pluginModule.js';
export { BUILTIN_FILTERS, BUILTIN_POLICIES, BUILTIN_SCORERS, DEFAULT_POLICY } from './policies.js';
export { hostPortsFree, hostPortsOf, takenPort } from './ports.js';
export { formatNoFitReason, formatPlacedReason } from './reason.js';
export { type CompiledPolicy, PolicyRegistry, policyRegistry } from './registry.js';
export { roundRobinScorer } from './roundRobin.js';
export { candidateLimitFor, SAMPLING_THRESHOLD } from './sampling.js';
export { spreadScorer } from './spread.js';
export {
  DEFAULT_SPREAD_KEY,
  GROUP_LABEL,
  groupOf,
  SPREAD_BY_LABEL,
  spreadKeyOf,
  TaskGroups,
} from './taskGroups.js';
export type {
  FilterPlugin,
  PlacementContext,
  PlacementDecision,
  Policy,
  RankedWorker,
  RoundRobinCursor,
  ScorePlugin,
  TaskGroupCounts,
  WeightedScorer,
} from './types.js';
export { binPackScorer, leastAllocatedScorer } from './utilization.js';
