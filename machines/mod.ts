/**
 * Machine definitions, for inspection tools and diagrams.
 *
 * @module
 */
export {
  WORKER_MACHINE_VERSION,
  type WorkerContext,
  type WorkerEvent,
  type WorkerFailure,
  type WorkerInput,
  type WorkerLimits,
  workerMachine,
  type WorkerState,
} from "./worker.ts";
export {
  BREAKER_MACHINE_VERSION,
  type BreakerContext,
  type BreakerEvent,
  breakerMachine,
  type BreakerState,
} from "./breaker.ts";
export { POOL_MACHINE_VERSION, type PoolContext, type PoolEvent, poolMachine, type PoolState } from "./pool.ts";
export {
  DEFAULT_PLAN,
  type Judged,
  type RolloutContext,
  type RolloutEvent,
  rolloutDetail,
  rolloutMachine,
  type RolloutPlan,
  type RolloutState,
  rolloutState,
  ROLLOUT_MACHINE_VERSION,
  shareOf,
  type Stage,
} from "./rollout.ts";
export {
  MIGRATION_MACHINE_VERSION,
  MIGRATION_PHASES,
  type MigrationContext,
  type MigrationEvent,
  migrationMachine,
  type MigrationPhaseName,
  type MigrationState,
  migrationState,
} from "./migration.ts";
