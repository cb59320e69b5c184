/**
 * The notifier interface, and the options every HTTP notifier shares: which
 * rollout events it takes, where it posts them, and how it retries. A
 * notifier queues; it never makes the rollout wait.
 *
 * @module
 */
import { nonEmptyString, option, positiveDuration, positiveInt, refuseUnknown, required, type Rule, stringRecord } from "../config.ts";
import { ConfigError, type NotifyError } from "../errors.ts";
import { ROLLOUT_EVENT_NAMES, type RolloutEventName, type RolloutNotice } from "../rollout/rollout-events.ts";

/** What a notifier has done so far. */
export interface NotifierStats {
  /** Waiting to be sent, the one being sent included. */
  readonly queued: number;
  readonly delivered: number;
  /** Refused by the receiver, or given up after every attempt. */
  readonly failed: number;
  /** Left out: the queue was full, or the notifier closed before they went out. */
  readonly dropped: number;
}

/**
 * Something that tells the outside world about rollout events. A rollout
 * calls `notify` for every event; the notifier keeps those it was asked for.
 */
export interface Notifier {
  /** Its name in errors and logs. */
  readonly name: string;
  /** Queue `event` if this notifier takes its kind. Returns at once and never throws. */
  notify(event: RolloutNotice): void;
  /** What it has done so far. */
  stats(): NotifierStats;
  /**
   * Take no more events and deliver those queued, for at most `deadlineMs`
   * (default: the notifier's `closeTimeoutMs`); what is still queued then is
   * dropped (and given to `onError`). Safe to repeat.
   */
  close(deadlineMs?: number): Promise<NotifierStats>;
}

/** Which events a notifier takes: every one ("all"), or those named. */
export type EventSelection = "all" | readonly RolloutEventName[];

/**
 * The events a notifier takes unless told otherwise: every one but
 * `window.judged` (a routine judgement that changed nothing, once per tick).
 *
 * @example
 * ```ts
 * import { DEFAULT_NOTIFY_EVENTS } from "molt";
 * console.log(DEFAULT_NOTIFY_EVENTS.includes("window.judged"), DEFAULT_NOTIFY_EVENTS.includes("rollback.started")); // false true
 * ```
 */
export const DEFAULT_NOTIFY_EVENTS: readonly RolloutEventName[] = ROLLOUT_EVENT_NAMES.filter((e) => e !== "window.judged");

/** Options every HTTP notifier takes. */
export interface HttpNotifierOptions {
  /** Where to POST. Required. */
  readonly url: string;
  /** Its name in errors. Default: the kind of notifier ("webhook", "slack"). */
  readonly name?: string;
  /** Which events to send. Default {@link DEFAULT_NOTIFY_EVENTS}. */
  readonly events?: EventSelection;
  /** Headers added to every request (an Authorization header, say). Default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** How long one attempt may take before it counts as failed. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Attempts per event, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** The wait before the second attempt; it doubles for each one after. Default 500 ms. */
  readonly backoffMs?: number;
  /** The longest wait between attempts. Default 30000 ms. */
  readonly maxBackoffMs?: number;
  /** Events waiting at most; when full, the oldest is dropped. Default 1000. */
  readonly queueSize?: number;
  /** How long `close()` delivers what is queued by default. Default 5000 ms. */
  readonly closeTimeoutMs?: number;
  /** Told about each event not delivered. Default: `console.error`. */
  readonly onError?: (error: NotifyError) => void;
}

/** HTTP notifier options after defaults. */
export interface HttpNotifierSettings {
  readonly url: string;
  readonly name: string;
  readonly events: ReadonlySet<RolloutEventName>;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly queueSize: number;
  readonly closeTimeoutMs: number;
  readonly onError: (error: NotifyError) => void;
}

const HTTP_OPTIONS = ["url", "name", "events", "headers", "timeoutMs", "maxAttempts", "backoffMs", "maxBackoffMs", "queueSize", "closeTimeoutMs", "onError"];

const httpUrl: Rule<string> = {
  is: (v): v is string => typeof v === "string" && URL.canParse(v) && /^https?:$/.test(new URL(v).protocol),
  allowed: "an http(s) URL",
};
const errorHandler: Rule<(error: NotifyError) => void> = {
  is: (v): v is (error: NotifyError) => void => typeof v === "function",
  allowed: "a function (error) => void",
};

/**
 * Validate an HTTP notifier's options (besides `extra`, its own) and apply
 * defaults; a ConfigError names the option, the value and what is allowed.
 */
export function resolveHttpNotifierOptions(owner: string, given: HttpNotifierOptions, extra: readonly string[]): HttpNotifierSettings {
  if (typeof given !== "object" || given === null) throw new ConfigError({ owner, option: "options", received: given, allowed: "an object with at least { url }" });
  refuseUnknown(owner, given, [...HTTP_OPTIONS, ...extra]);
  const backoffMs = option(owner, "backoffMs", given.backoffMs, positiveDuration, 500);
  const maxBackoffMs = option(owner, "maxBackoffMs", given.maxBackoffMs, positiveDuration, 30_000);
  if (maxBackoffMs < backoffMs) throw new ConfigError({ owner, option: "maxBackoffMs", received: maxBackoffMs, allowed: `at least backoffMs (${backoffMs} ms)` });
  return {
    url: required(owner, "url", given.url, httpUrl),
    name: option(owner, "name", given.name, nonEmptyString, owner),
    events: new Set(resolveEvents(owner, given.events)),
    headers: option(owner, "headers", given.headers, stringRecord, {}),
    timeoutMs: option(owner, "timeoutMs", given.timeoutMs, positiveDuration, 5000),
    maxAttempts: option(owner, "maxAttempts", given.maxAttempts, positiveInt, 5),
    backoffMs,
    maxBackoffMs,
    queueSize: option(owner, "queueSize", given.queueSize, positiveInt, 1000),
    closeTimeoutMs: option(owner, "closeTimeoutMs", given.closeTimeoutMs, positiveDuration, 5000),
    onError: option(owner, "onError", given.onError, errorHandler, (e: NotifyError) => console.error(`[molt ${owner}]`, e.message)),
  };
}

/** The events an `events` option selects; a ConfigError names an unknown one. */
function resolveEvents(owner: string, given: unknown): readonly RolloutEventName[] {
  if (given === undefined) return DEFAULT_NOTIFY_EVENTS;
  if (given === "all") return ROLLOUT_EVENT_NAMES;
  const allowed = `"all" or a non-empty array of event names (${ROLLOUT_EVENT_NAMES.join(", ")})`;
  if (!Array.isArray(given) || given.length === 0) throw new ConfigError({ owner, option: "events", received: given, allowed });
  given.forEach((name, i) => {
    if (!ROLLOUT_EVENT_NAMES.includes(name)) throw new ConfigError({ owner, option: `events[${i}]`, received: name, allowed: `one of ${ROLLOUT_EVENT_NAMES.join(", ")}` });
  });
  return given;
}

/** Whether `v` is a notifier (for option checks). */
export const notifierRule: Rule<Notifier> = {
  is: (v): v is Notifier => typeof (v as Notifier | null)?.notify === "function" && typeof (v as Notifier).close === "function",
  allowed: "a Notifier (createWebhookNotifier, createSlackNotifier, or an object with notify(event), stats() and close())",
};
