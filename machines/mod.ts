/**
 * Machine definitions, for inspection tools and diagrams.
 *
 * @module
 */
export type { Implementations, Leaves, MachineTypes, Parameterized, PureMachine } from "./pure-machine.ts";
export {
  WORKER_MACHINE_VERSION,
  type WorkerContext,
  type WorkerEvent,
  type WorkerFailure,
  type WorkerInput,
  type WorkerLimits,
  type WorkerMachine,
  workerMachine,
  type WorkerState,
  type WorkerStoppingState,
} from "./worker.ts";
export {
  BREAKER_MACHINE_VERSION,
  type BreakerContext,
  type BreakerEvent,
  type BreakerInput,
  type BreakerMachine,
  breakerMachine,
  type BreakerState,
} from "./breaker.ts";
export {
  POOL_MACHINE_VERSION,
  type PoolContext,
  type PoolEvent,
  type PoolInput,
  type PoolMachine,
  poolMachine,
  type PoolState,
} from "./pool.ts";
export {
  DEFAULT_PLAN,
  type Judged,
  type RolloutActiveState,
  type RolloutContext,
  type RolloutEvent,
  type RolloutInput,
  rolloutDetail,
  type RolloutMachine,
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
  type MigrationInput,
  type MigrationMachine,
  migrationMachine,
  type MigrationPhaseName,
  type MigrationState,
  migrationState,
} from "./migration.ts";
