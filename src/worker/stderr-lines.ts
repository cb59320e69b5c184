/**
 * A worker's stderr, split into lines: each forwarded to the log, the last
 * few kept for error messages.
 *
 * @module
 */

/** Keeps the last `keep` lines of a byte stream and hands each line to `onLine`. */
export class StderrLines {
  private readonly decoder = new TextDecoder();
  private partial = "";
  private readonly lines: string[] = [];

  constructor(private readonly keep: number, private readonly onLine: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const parts = text.split("\n");
    this.partial = parts.pop()!;
    for (const line of parts) this.add(line);
  }

  /** The last lines, including an unterminated one. */
  tail(): readonly string[] {
    if (this.partial !== "") {
      this.add(this.partial);
      this.partial = "";
    }
    return [...this.lines];
  }

  private add(line: string): void {
    this.onLine(line);
    this.lines.push(line);
    if (this.lines.length > this.keep) this.lines.shift();
  }
}
