/**
 * A StatsD sink: every event on a bus becomes StatsD metrics through
 * hot-shots, with the tags pool, command, outcome and category. Metrics are
 * buffered into packets of at most `maxBufferSize` bytes and flushed every
 * `flushIntervalMs` and on `close()`.
 *
 * @module
 */
import StatsD from "hot-shots";
import { boolean, nonEmptyString, nonNegativeInt, option, positiveDuration, positiveInt, refuseUnknown, stringRecord } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { RolloutEventStream } from "../rollout/rollout-events.ts";
import type { EventBus, MoltEvent } from "./events.ts";
import { sendRolloutMetrics } from "./rollout-metrics.ts";

/** Options of {@link attachStatsd}. */
export interface StatsdOptions {
  /** Default `"127.0.0.1"`. */
  readonly host?: string;
  /** Default 8125. */
  readonly port?: number;
  /** Put before every metric name. Default `"molt."`. */
  readonly prefix?: string;
  /** Tags added to every metric. Default `{}`. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Largest packet in bytes; 0 sends each metric on its own. Default 1400. */
  readonly maxBufferSize?: number;
  /** How often a partly filled packet is sent. Default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Datadog mode (adds `DD_*` environment tags). Default false. */
  readonly datadog?: boolean;
  /** Receives send errors. Default: `console.error`. */
  readonly onError?: (error: Error) => void;
  /**
   * Also send the rollout metrics (share, stage, judgements, rollbacks,
   * operator commands) of the events on this stream, with the same prefix
   * and tags. Default none.
   */
  readonly rollouts?: RolloutEventStream;
}

/** A running sink. */
export interface StatsdSink {
  /** Unsubscribe, send what is buffered and close the socket. */
  close(): Promise<void>;
}

const KNOWN = ["host", "port", "prefix", "tags", "maxBufferSize", "flushIntervalMs", "datadog", "onError", "rollouts"];

/**
 * Send a bus's events to StatsD. docs/telemetry.md lists the metric names.
 *
 * @example
 * ```ts
 * import { attachStatsd, EventBus } from "molt";
 * const bus = new EventBus();
 * const sink = attachStatsd(bus, { port: 8125, prefix: "app.molt." });
 * bus.emit({ type: "pool.stopped", pool: "v1", at: Date.now() });
 * await sink.close();
 * ```
 */
export function attachStatsd(bus: EventBus, options: StatsdOptions = {}): StatsdSink {
  const owner = "statsd";
  if (typeof options !== "object" || options === null) throw new ConfigError({ owner, option: "options", received: options, allowed: "an object" });
  refuseUnknown(owner, options, KNOWN);
  const port = option(owner, "port", options.port, positiveInt, 8125);
  if (port > 65535) throw new ConfigError({ owner, option: "port", received: port, allowed: "a port number (1-65535)" });
  const onError = options.onError ?? ((e: Error) => console.error("[molt statsd]", e.message));
  if (typeof onError !== "function") throw new ConfigError({ owner, option: "onError", received: onError, allowed: "a function" });
  const datadog = option(owner, "datadog", options.datadog, boolean, false);
  const rollouts = option(owner, "rollouts", options.rollouts, { is: (v): v is RolloutEventStream => v instanceof RolloutEventStream, allowed: "a RolloutEventStream" }, undefined);
  const client = new StatsD({
    host: option(owner, "host", options.host, nonEmptyString, "127.0.0.1"),
    port,
    prefix: option(owner, "prefix", options.prefix, { is: (v): v is string => typeof v === "string", allowed: "a string" }, "molt."),
    globalTags: option(owner, "tags", options.tags, stringRecord, {}),
    maxBufferSize: option(owner, "maxBufferSize", options.maxBufferSize, nonNegativeInt, 1400),
    bufferFlushInterval: option(owner, "flushIntervalMs", options.flushIntervalMs, positiveDuration, 1000),
    datadog,
    includeDataDogTags: datadog,
    errorHandler: onError,
  });
  const off = bus.subscribe((event) => send(client, event));
  const offRollouts = rollouts?.subscribe((event) => sendRolloutMetrics(client, event));
  let closed: Promise<void> | null = null;
  return {
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        off();
        offRollouts?.();
        client.close(() => resolve());
      });
      return closed;
    },
  };
}

function send(client: InstanceType<typeof StatsD>, e: MoltEvent): void {
  const pool = e.pool;
  switch (e.type) {
    case "call.completed": {
      const tags: Record<string, string> = { pool, command: e.command, outcome: e.outcome };
      if (e.category !== null) tags.category = e.category;
      client.increment("calls", 1, tags);
      client.timing("call.latency", e.latencyMs, { pool, command: e.command, outcome: e.outcome });
      return;
    }
    case "call.retried":
      return client.increment("calls.retried", 1, { pool, command: e.command, category: e.category });
    case "worker.started":
      return client.increment("workers.started", 1, { pool, replacing: String(e.replacing) });
    case "worker.start.failed":
      return client.increment("workers.start_failed", 1, { pool });
    case "worker.exited":
      return client.increment("workers.exited", 1, { pool, expected: String(e.expected) });
    case "worker.degraded":
      return client.increment("workers.degraded", 1, { pool });
    case "worker.recycled":
      return client.increment("workers.recycled", 1, { pool, reason: e.reason });
    case "worker.sampled":
      return client.gauge("worker.rss_bytes", e.rssBytes, { pool, worker: e.workerId });
    case "breaker.changed":
      client.increment("breaker.changed", 1, { pool, state: e.to });
      return client.gauge("breaker.open", e.to === "closed" ? 0 : 1, { pool });
    case "worker.breaker.changed":
      return client.gauge("worker.breaker.open", e.to === "closed" ? 0 : 1, { pool, position: String(e.position) });
    case "pool.flag.applied":
      return client.gauge("pool.flag", e.enabled ? 1 : 0, { pool, flag: e.flag });
    case "pool.changed":
      return client.increment("pool.changed", 1, { pool, state: e.to });
    case "pool.scaled":
      return client.gauge("pool.size", e.to, { pool, reason: e.reason });
    case "pool.started":
      return client.timing("pool.start", e.startMs, { pool });
    case "pool.drained":
      return client.increment("pool.drained", 1, { pool });
    case "pool.stopped":
      return client.increment("pool.stopped", 1, { pool });
    case "store.failed":
      return client.increment("store.failed", 1, { pool, operation: e.operation });
    case "route.decided":
      return client.increment("router.routed", 1, { arm: e.arm, reason: e.reason, command: e.command });
    case "shadow.compared":
      return client.increment("shadow.compared", 1, { command: e.command, outcome: e.outcome, shadow_arm: e.shadowArm });
    case "rollout.tick_failed":
      return client.increment("rollout.tick_failed", 1, { rollout: e.rolloutId, error: e.error });
    case "rollout.held":
      return client.gauge("rollout.held", 1, { rollout: e.rolloutId });
    case "rollout.recovered":
      return client.gauge("rollout.held", 0, { rollout: e.rolloutId });
    case "fleet.leader_elected":
      return client.increment("fleet.leader_elected", 1, { rollout: e.rolloutId, node: e.nodeId });
    case "fleet.leader_lost":
      return client.increment("fleet.leader_lost", 1, { rollout: e.rolloutId, node: e.nodeId });
    case "fleet.store_lost":
      return client.gauge("fleet.store_lost", 1, { node: e.nodeId, fallback: e.fallback });
    case "fleet.store_recovered":
      return client.gauge("fleet.store_lost", 0, { node: e.nodeId });
  }
}
