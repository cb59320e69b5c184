/**
 * The WebSocket side of `molt inspect --live --ws`: an adapter for
 * @statelyai/inspect's `createInspector` that ends when it is stopped.
 * The library's own (`createWebSocketInspector`) opens the socket again 5 s
 * after any error for as long as the process lives, stopped or not, so a
 * watch whose inspector was not listening never ended: neither
 * `--timeout-ms` nor Ctrl-C stopped it.
 *
 * @module
 */
import type { StatelyInspectionEvent } from "@statelyai/inspect";

/** How long a closed or refused socket waits before it is opened again. */
const RETRY_MS = 1000;
/** Events kept while the inspector is away: the latest, as the library keeps them. */
const MAX_HELD = 200;

/**
 * An inspector adapter sending each event as a JSON text message to `url`.
 * Events wait (the latest {@link MAX_HELD}) while the socket is not open; a
 * socket that closes or cannot connect is opened again every second, and
 * `onUnreachable` is told once; `stop()` closes it and ends the retries.
 *
 * @example
 * ```ts
 * import { createInspector } from "@statelyai/inspect";
 * import { WebSocketInspectorAdapter } from "./ws-inspector.ts";
 * const adapter = new WebSocketInspectorAdapter("ws://127.0.0.1:9", () => console.log("not listening"));
 * const inspector = createInspector(adapter);
 * inspector.stop(); // nothing is left running
 * ```
 */
export class WebSocketInspectorAdapter {
  private socket: WebSocket | null = null;
  private open = false;
  private stopped = false;
  private told = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly held: string[] = [];

  constructor(private readonly url: string, private readonly onUnreachable: (url: string) => void = () => {}) {}

  start(): void {
    if (this.stopped || this.socket !== null) return;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.open = true;
      for (const message of this.held.splice(0)) socket.send(message);
    };
    socket.onclose = (e: CloseEvent) => {
      const everOpen = this.open;
      this.open = false;
      this.socket = null;
      if (this.stopped) return;
      if (!everOpen && !this.told) {
        this.told = true;
        this.onUnreachable(`${this.url}${e.code === 1006 ? "" : ` (close code ${e.code})`}`);
      }
      this.retry = setTimeout(() => this.start(), RETRY_MS);
    };
    // An error is followed by close, which decides what next.
    socket.onerror = () => {};
  }

  send(event: StatelyInspectionEvent): void {
    const message = JSON.stringify(event);
    if (this.open && this.socket !== null) return this.socket.send(message);
    this.held.push(message);
    if (this.held.length > MAX_HELD) this.held.shift();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.socket?.close();
    this.socket = null;
    this.open = false;
  }
}
