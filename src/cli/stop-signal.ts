/**
 * How a command that watches ends: Ctrl-C, SIGTERM, or its `--timeout-ms`.
 *
 * @module
 */

/** An AbortSignal that aborts on SIGINT, SIGTERM or after `timeoutMs` (when given); `dispose` removes the handlers and the timer. */
export function stopWhenAsked(timeoutMs: number | undefined): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const timer = timeoutMs === undefined ? null : setTimeout(stop, timeoutMs);
  return {
    signal: controller.signal,
    dispose() {
      if (timer !== null) clearTimeout(timer);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}
