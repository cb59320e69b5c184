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
