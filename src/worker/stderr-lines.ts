/**
 * A worker's stderr, split into lines: each forwarded to the log, the last
 * few kept for error messages and archives. A line is kept (and forwarded)
 * up to MAX_LINE characters: a handler that writes megabytes without a
 * newline must not make the host hold them.
 *
 * @module
 */

/** The longest line kept; the rest is counted, not kept. */
export const MAX_LINE = 8192;

/** Keeps the last `keep` lines of a byte stream and hands each line to `onLine`. */
export class StderrLines {
  private readonly decoder = new TextDecoder();
  private partial = "";
  /** Characters of the unfinished line dropped past MAX_LINE. */
  private dropped = 0;
  private readonly lines: string[] = [];

  constructor(private readonly keep: number, private readonly onLine: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    const parts = (this.partial + this.decoder.decode(chunk, { stream: true })).split("\n");
    this.partial = parts.pop()!;
    for (const line of parts) this.add(line);
    if (this.partial.length > MAX_LINE) {
      this.dropped += this.partial.length - MAX_LINE;
      this.partial = this.partial.slice(0, MAX_LINE);
    }
  }

  /** The last lines and the unfinished one as they stand, changing nothing (the process may still be writing that line). */
  peek(): readonly string[] {
    if (this.partial === "" && this.dropped === 0) return [...this.lines];
    const last = this.dropped === 0 ? this.partial : `${this.partial} … (${this.dropped} more characters)`;
    return [...this.lines, last].slice(-this.keep);
  }

  /** The last lines, the unfinished one ended and forwarded (the process has exited). */
  tail(): readonly string[] {
    if (this.partial !== "" || this.dropped > 0) {
      this.add(this.partial);
      this.partial = "";
    }
    return [...this.lines];
  }

  private add(line: string): void {
    const more = this.dropped + Math.max(0, line.length - MAX_LINE);
    this.dropped = 0;
    const kept = more === 0 ? line : `${line.slice(0, MAX_LINE)} … (${more} more characters)`;
    this.onLine(kept);
    this.lines.push(kept);
    if (this.lines.length > this.keep) this.lines.shift();
  }
}
