/**
 * molt: pools of Python worker processes for Bun and Deno, and canary
 * migration from one pool to another.
 *
 * @example
 * ```ts
 * import { spawnWorker } from "molt";
 * const worker = await spawnWorker({ handler: "./test/fixtures/echo_handler.py", heartbeatMs: 0 });
 * console.log(await worker.call("echo", "hi")); // hi
 * await worker.stop();
 * ```
 *
 * @module
 */
// First: on a runtime molt does not support, this fails before anything else loads.
import "./src/runtime-guard.ts";

export {
  BackupError,
  type BackupProblem,
  BreakerOpenError,
  CallAbortedError,
  ConfigError,
  UnsupportedRuntimeError,
  type ExitInfo,
  FencedError,
  FlagError,
  FleetError,
  isMoltError,
  MachineVersionError,
  MigrationError,
  type MoltError,
  NotifyError,
  type NotifyProblem,
  PoolDrainingError,
  PoolSaturatedError,
  ProgramError,
  ProtocolError,
  type ProtocolViolation,
  PythonError,
  QueueTimeoutError,
  RolloutError,
  SessionWorkerLostError,
  type StoreBackend,
  StoreError,
  type StoreFailure,
  StoreRowError,
  WorkerExitedError,
  WorkerStartError,
  WorkerTimeoutError,
  WorkerUnavailableError,
} from "./src/errors.ts";
export { DEFAULT_MAX_FRAME_BYTES, Deframer, encodeFrame } from "./src/protocol/frame.ts";
export {
  Cancel,
  Chunk,
  Credit,
  ErrorResponse,
  Hello,
  OkResponse,
  parseFrame,
  parseHello,
  parseResponse,
  PROTOCOL_MINOR,
  PROTOCOL_VERSION,
  Request,
  Response,
  StreamEnd,
  WireError,
} from "./src/protocol/messages.ts";
export type { WorkerOptions } from "./src/worker/options.ts";
export type { CallOptions, Worker, WorkerHealth, WorkerStats } from "./src/worker/python-worker.ts";
export type { StreamOptions } from "./src/worker/chunk-stream.ts";
export { acquireWorker, spawnWorker } from "./src/worker/spawn-worker.ts";
export type { WorkerState } from "./machines/worker.ts";
export type { BreakerState } from "./machines/breaker.ts";
export type { PoolState } from "./machines/pool.ts";
export { createPool } from "./src/pool/pool.ts";
export type {
  Affinity,
  BreakerOptions,
  OptimizerOptions,
  PoolOptions,
  RetryOptions,
  Strategy,
} from "./src/pool/options.ts";
export { decideScale, type ScaleDecision, type ScaleInput, type ScaleLimits } from "./src/pool/scaling.ts";
export type {
  DrainReport,
  ExecuteOptions,
  Pool,
  PoolHealth,
  PoolMetrics,
  PoolStats,
  ResolvedPoolConfiguration,
  WorkerHealthReport,
  WorkerMetrics,
  WorkerStderr,
} from "./src/pool/types.ts";
export type { BreakOn } from "./src/resilience/breaker.ts";
export { type Classification, classifyError, type ErrorCategory, type Severity } from "./src/resilience/classify.ts";
export {
  type CallOutcome,
  EventBus,
  type EventListener,
  type MoltEvent,
  type MoltEventType,
  type RecycleReason,
  type ScaleReason,
} from "./src/telemetry/events.ts";
export { type LatencySummary, MetricsWindow, type WindowTotals } from "./src/telemetry/metrics-window.ts";
export { attachStatsd, type StatsdOptions, type StatsdSink } from "./src/telemetry/statsd-sink.ts";
export { openStore, type Store, type StoreOptions } from "./src/store/store.ts";
export type { StoreProbe } from "./src/store/probe.ts";
export { DEFAULT_STORE_PATH } from "./src/store/url.ts";
export type { AppliedMigration } from "./src/store/migrations.ts";
export { type PersistedActor, persistActor, type PersistOptions, type RestoreInfo } from "./src/store/persist-actor.ts";
export { type ActorIdentity, type Rebuilt, replay, type ReplayOptions, type SnapshotMigration } from "./src/store/replay.ts";
export type { Backup, BackupDocument, BackupInfo, Backups, BackupWriteOptions, MachinePosition, RestoreReport } from "./src/store/tables/backups.ts";
export type { ChangeMeta, FlagChange, FlagRecord, Flags as FlagsTable, FlagWatch } from "./src/store/tables/flags.ts";
export type { ShadowMismatch, ShadowMismatches } from "./src/store/tables/shadow-mismatches.ts";
export type { Decision, Decisions } from "./src/store/tables/decisions.ts";
export type { Commands, CommandStatus, OperatorCommand } from "./src/store/tables/commands.ts";
export type { ValidationResult, Validations } from "./src/store/tables/validations.ts";
export type { Journal, JournalEntry, JournalEvent, JournalRange } from "./src/store/tables/journal.ts";
export type { MigrationPhase, MigrationStatus, PhaseStatus } from "./src/store/tables/migration-status.ts";
export type { PoolConfiguration, PoolConfigurations } from "./src/store/tables/pool-configurations.ts";
export type { MetricsRange, PoolMetrics as PoolMetricsTable, PoolMetricsEntry } from "./src/store/tables/pool-metrics.ts";
export type { ProgramRecord, Programs } from "./src/store/tables/programs.ts";
export type { SnapshotRecord, Snapshots } from "./src/store/tables/snapshots.ts";
export { BUCKETS, bucketOf, inShare, murmur3, SHARE_FLAG } from "./src/flags/bucket.ts";
export { envName, FLAG_DEFAULTS, FLAG_NAMES, type FlagName, type FlagValues } from "./src/flags/definitions.ts";
export { createFlags, type FlagExplanation, type Flags, type FlagSource, type FlagsOptions, type FlagUpdate } from "./src/flags/flags.ts";
export { MoltFlagProvider, V2_ARM_FLAG } from "./src/flags/openfeature.ts";
export {
  createRouter,
  type RouteOptions,
  type Router,
  type RouterHealth,
  type RouterOptions,
  type RouterStats,
} from "./src/routing/router.ts";
export type { Arm, RouteDecision, RouteReason, StickyKeys } from "./src/routing/route.ts";
export type { ShadowCounts, ShadowOptions } from "./src/routing/shadow.ts";
export type { RouterNodeOptions } from "./src/routing/router-node.ts";
export { ProgramDefinition } from "./src/routing/programs.ts";
export { type ArmWindow, judge, type JudgeInput, type Judgement, type RuleResult, type RuleStatus, type ShadowWindow, type Verdict } from "./src/monitor/judge.ts";
export { DEFAULT_THRESHOLDS, resolveThresholds, type Thresholds } from "./src/monitor/thresholds.ts";
export {
  createRolloutController,
  type OperatorMeta,
  type RolloutController,
  type RolloutOptions,
  type RolloutStatus,
  type TickFailures,
} from "./src/rollout/controller.ts";
export type { RollbackOptions, RollbackReport, RollbackStep } from "./src/rollout/rollback.ts";
export {
  ROLLOUT_EVENT_NAMES,
  type RolloutEventName,
  RolloutEventStream,
  type RolloutListener,
  type RolloutNotice,
  type RuleOutcome,
  type VerdictSummary,
} from "./src/rollout/rollout-events.ts";
export { DEFAULT_NOTIFY_EVENTS, type EventSelection, type HttpNotifierOptions, type Notifier, type NotifierStats } from "./src/notify/notifier.ts";
export {
  createWebhookNotifier,
  WEBHOOK_PAYLOAD_VERSION,
  webhookPayload,
  type WebhookNotifierOptions,
  type WebhookPayload,
} from "./src/notify/webhook-notifier.ts";
export { createSlackNotifier, type SlackBlock, type SlackMessage, slackMessage, type SlackNotifierOptions, type SlackText } from "./src/notify/slack-notifier.ts";
export { SIGNATURE_HEADER, signPayload, verifySignature } from "./src/notify/signature.ts";
export { createMigration, type DecommissionPlan, type Migration, type MigrationOptions, type MigrationProgress } from "./src/migration/migration.ts";
export type { ArtifactFile, CleanupItem, WrittenArchive } from "./src/migration/archive.ts";
export type { Check } from "./src/migration/preflight.ts";
export type { VerifyOptions } from "./src/migration/verify.ts";
export { readMigration, type StoredMigration } from "./src/migration/inspect.ts";
export { inspectLive, type InspectLiveOptions } from "./src/migration/live-inspect.ts";
export { readBackupFile, restoreBackup, type RestoreOptions } from "./src/migration/restore.ts";
export { migrationReport, type ReportFormat, type ReportOptions } from "./src/migration/report.ts";
export { type Artifact, type MigrationRecord, type PhaseRecord, readMigrationRecord, type StageRecord } from "./src/migration/record.ts";
export type { RolloutSummary } from "./src/migration/format.ts";
export type { ArmImpact, ArmPoint, Impact, Interval } from "./src/migration/impact.ts";
export type { Criterion, CriterionStatus } from "./src/migration/lessons.ts";
export {
  type ArmClient,
  type CaseResult,
  DEFAULT_IGNORE,
  defaultCases,
  type EquivalenceCase,
  type EquivalenceOptions,
  type EquivalenceReport,
  validateEquivalence,
} from "./src/validation/equivalence.ts";
export type { Difference } from "./src/validation/diff.ts";
export {
  type ArmLoad,
  type Comparison,
  type LoadMixItem,
  type LoadOptions,
  type LoadReport,
  validateLoad,
} from "./src/validation/load.ts";
export type { Estimate } from "./src/validation/statistics.ts";
export { validationMarkdown } from "./src/validation/markdown.ts";
export {
  FAULT_KINDS,
  type FaultKind,
  type FaultLimits,
  type FaultOptions,
  type FaultReport,
  type FaultResult,
  type FaultRun,
  faultVerdict,
  validateFaults,
} from "./src/validation/faults.ts";
export { type Checklist, type ChecklistItem, CHECKLIST_STAGES, type ChecklistStatus, stageChecklist } from "./src/validation/checklist.ts";
export { createFleetNode, type FleetNode, type FleetNodeOptions, type FleetNodeStatus, type WhenStoreLost } from "./src/fleet/node.ts";
export { findOutlier, type NodeContribution } from "./src/fleet/fleet-arms.ts";
export type { NodeWindow } from "./src/fleet/node-window.ts";
export type { Fence, FenceTerm } from "./src/store/fence.ts";
export type { Acquired, Lease, Leases } from "./src/store/tables/leases.ts";
export type { NodeBeat, NodeJoin, NodeRecord, NodeRole, Nodes, NodeView } from "./src/store/tables/nodes.ts";
export type { ArmRead, ArmSource, ArmsReading } from "./src/rollout/arm-window.ts";
export type { IntervalTotals } from "./src/telemetry/metrics-window.ts";
export { MOLT_VERSION } from "./src/version.ts";
export { type FleetView, readFleet } from "./src/fleet/fleet-view.ts";
export { type EmergencyRequest, requestEmergencyRollback } from "./src/fleet/emergency.ts";
export { type Dashboard, startDashboard } from "./src/dashboard/server.ts";
export { DEFAULT_DASHBOARD_PORT, type DashboardOptions } from "./src/dashboard/options.ts";
export type { DashboardCommand, DashboardMarker, DashboardNode, DashboardSnapshot } from "./src/dashboard/snapshot.ts";
export type { DashboardPoint } from "./src/dashboard/series.ts";
export type { DashboardChart, DashboardViews } from "./src/dashboard/views.ts";
export { type ActionRequest, type ActionResult, DASHBOARD_ACTIONS, type DashboardAction } from "./src/dashboard/actions.ts";
