// Cube's scheduler framework: pure placement logic, no I/O.
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
  isHeartbeatFresh,
  notCordoned,
  REASON_CORDONED,
  REASON_CPU,
  REASON_DISK,
  REASON_MEMORY,
  REASON_NOT_READY,
  resourcesFit,
  workerReady,
} from './filters.js';
export { notePlacement, placeTask, rankWorkers, TOP_SCORES } from './place.js';
export { BUILTIN_POLICIES, DEFAULT_POLICY } from './policies.js';
export { formatNoFitReason, formatPlacedReason } from './reason.js';
export { type CompiledPolicy, PolicyRegistry, policyRegistry } from './registry.js';
export { roundRobinScorer } from './roundRobin.js';
export type {
  FilterPlugin,
  PlacementContext,
  PlacementDecision,
  Policy,
  RankedWorker,
  RoundRobinCursor,
  ScorePlugin,
  WeightedScorer,
} from './types.js';
export { binPackScorer, leastAllocatedScorer } from './utilization.js';
