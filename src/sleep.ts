/**
 * Waiting that an abort cuts short, for loops that poll until told to stop.
 *
 * @module
 */

/** Resolve after `ms`, or at once when `signal` aborts (or already has). Never rejects. */
export function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => (clearTimeout(timer), signal.removeEventListener("abort", done), resolve());
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
