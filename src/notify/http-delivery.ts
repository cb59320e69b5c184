/**
 * Delivery over HTTP for notifiers: a bounded queue sent in order, one
 * request at a time, each attempt with its own deadline, failed attempts
 * retried after an exponential backoff, and a close that delivers what it
 * can before its deadline. Nothing here is awaited by the rollout: `notify`
 * only queues.
 *
 * @module
 */
import { NotifyError, type NotifyProblem } from "../errors.ts";
import type { RolloutNotice } from "../rollout/rollout-events.ts";
import { positiveDuration, required } from "../config.ts";
import type { HttpNotifierSettings, Notifier, NotifierStats } from "./notifier.ts";

/** One request: its body and its headers (besides the notifier's own). */
export interface HttpRequestParts {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

interface Job {
  readonly event: RolloutNotice;
  readonly request: HttpRequestParts;
}

/** The wait before attempt `attempt + 1`: `backoffMs` doubled per attempt so far, at most `maxBackoffMs`. */
function backoffDelay(attempt: number, backoffMs: number, maxBackoffMs: number): number {
  return Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
}

/**
 * A notifier that POSTs each event it takes, formatted by `format`.
 * Receivers see events in the order they happened: one request at a time.
 */
export function httpNotifier(settings: HttpNotifierSettings, format: (event: RolloutNotice) => HttpRequestParts): Notifier {
  return new HttpNotifier(settings, format);
}

class HttpNotifier implements Notifier {
  readonly name: string;
  private readonly queue: Job[] = [];
  private sending: Promise<void> | null = null;
  private closing: Promise<NotifierStats> | null = null;
  /** Aborted at close's deadline: the request in flight and any backoff end at once. */
  private readonly stopNow = new AbortController();
  private delivered = 0;
  private failed = 0;
  private dropped = 0;

  constructor(private readonly s: HttpNotifierSettings, private readonly format: (event: RolloutNotice) => HttpRequestParts) {
    this.name = s.name;
  }

  notify(event: RolloutNotice): void {
    if (!this.s.events.has(event.event)) return;
    if (this.closing !== null) return this.lost(event, "closed", 0, "the notifier was closed");
    let request: HttpRequestParts;
    try {
      request = this.format(event);
    } catch (e) {
      return this.lost(event, "rejected", 0, `could not be formatted: ${String((e as Error).message ?? e)}`);
    }
    if (this.queue.length >= this.s.queueSize) {
      // The newest events say where the rollout is now: the oldest goes.
      const oldest = this.queue.shift()!;
      this.lost(oldest.event, "dropped", 0, `the queue was full (queueSize ${this.s.queueSize})`);
    }
    this.queue.push({ event, request });
    this.pump();
  }

  stats(): NotifierStats {
    return { queued: this.queue.length + (this.sending === null ? 0 : 1), delivered: this.delivered, failed: this.failed, dropped: this.dropped };
  }

  close(deadlineMs?: number): Promise<NotifierStats> {
    if (this.closing !== null) return this.closing;
    // Checked before closing starts: a bad deadline must not leave the notifier half closed.
    let ms: number;
    try {
      ms = required(this.s.name, "close.deadlineMs", deadlineMs ?? this.s.closeTimeoutMs, positiveDuration);
    } catch (e) {
      return Promise.reject(e);
    }
    this.closing = (async () => {
      const timer = setTimeout(() => this.stopNow.abort(), ms);
      try {
        while (this.sending !== null) await this.sending;
      } finally {
        clearTimeout(timer);
      }
      return this.stats();
    })();
    return this.closing;
  }

  /** Send the next event when none is in flight. */
  private pump(): void {
    if (this.sending !== null) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.sending = this.deliver(job).finally(() => {
      this.sending = null;
      this.pump();
    });
  }

  private async deliver(job: Job): Promise<void> {
    const s = this.s;
    for (let attempt = 1; ; attempt++) {
      if (this.stopNow.signal.aborted) return this.lost(job.event, "closed", attempt - 1, "the notifier closed before it was delivered");
      const outcome = await this.attempt(job.request);
      if (outcome.ok) return void this.delivered++;
      if (this.stopNow.signal.aborted) return this.lost(job.event, "closed", attempt, `the notifier closed during attempt ${attempt} (${outcome.reason})`);
      if (!outcome.retry) return this.lost(job.event, "rejected", attempt, outcome.reason);
      if (attempt >= s.maxAttempts) return this.lost(job.event, "gave_up", attempt, outcome.reason);
      await this.sleep(backoffDelay(attempt, s.backoffMs, s.maxBackoffMs));
    }
  }

  /** One POST with its own deadline. Retried: no answer, 408, 429 and 5xx; a refusal (other 4xx) is final. */
  private async attempt(request: HttpRequestParts): Promise<{ ok: true } | { ok: false; retry: boolean; reason: string }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.s.timeoutMs);
    const stop = (): void => abort.abort();
    this.stopNow.signal.addEventListener("abort", stop);
    try {
      const response = await fetch(this.s.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.s.headers, ...request.headers },
        body: request.body,
        signal: abort.signal,
      });
      // The body is not read: free the connection.
      await response.body?.cancel().catch(() => {});
      if (response.ok) return { ok: true };
      const status = response.status;
      return { ok: false, retry: status === 408 || status === 429 || status >= 500, reason: `HTTP ${status}` };
    } catch (e) {
      const reason = abort.signal.aborted && !this.stopNow.signal.aborted ? `no answer within timeoutMs (${this.s.timeoutMs} ms)` : String((e as Error).message ?? e);
      return { ok: false, retry: true, reason };
    } finally {
      clearTimeout(timer);
      this.stopNow.signal.removeEventListener("abort", stop);
    }
  }

  /** Wait `ms`, or less when the notifier must stop now. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stopNow.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopNow.signal.addEventListener("abort", done);
    });
  }

  private lost(event: RolloutNotice, problem: NotifyProblem, attempts: number, reason: string): void {
    if (problem === "rejected" || problem === "gave_up") this.failed++;
    else this.dropped++;
    try {
      this.s.onError(new NotifyError({ notifier: this.s.name, event: event.event, rolloutId: event.rolloutId, problem, attempts, reason }));
    } catch (e) {
      console.error(`[molt ${this.s.name}] onError threw:`, e);
    }
  }
}
