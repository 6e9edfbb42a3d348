/**
 * How the CLI prints: aligned tables for people, `--json` for scripts, and progress for long jobs — a bar that
 * redraws itself on a terminal, plain lines (at most one every two seconds, plus the last) when stderr is a
 * file or a pipe. Progress goes to stderr, so stdout stays clean for the data.
 */
import { writeFileSync } from "node:fs";

export const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Columns padded to the widest cell; the first row is the header. */
export function printTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

export function writeOutput(text: string, file: string | undefined): void {
  if (file) writeFileSync(file, text, { mode: 0o600 });
  else process.stdout.write(text);
}

const LINE_EVERY_MS = 2000;
const BAR_WIDTH = 30;

/** Progress of a job measured in `unit`s (bytes are shown in MB); `total` may be unknown. */
export class Progress {
  private done = 0;
  private lastLine = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number | null,
    private readonly unit: "bytes" | "rows",
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  add(amount: number): void {
    this.done += amount;
    const now = Date.now();
    if (this.tty) this.stream.write(`\r${this.render()}`);
    else if (now - this.lastLine >= LINE_EVERY_MS) {
      this.lastLine = now;
      this.stream.write(`${this.render()}\n`);
    }
  }

  finish(message?: string): void {
    const last = `${this.render()}${message ? ` — ${message}` : ""}`;
    this.stream.write(this.tty ? `\r${last}\n` : `${last}\n`);
  }

  private render(): string {
    const amount = (n: number) => (this.unit === "bytes" ? `${(n / 1e6).toFixed(1)} MB` : `${n} rows`);
    if (this.total === null || this.total === 0) return `${this.label}: ${amount(this.done)}`;
    const share = Math.min(1, this.done / this.total);
    const filled = Math.round(share * BAR_WIDTH);
    const bar = this.tty ? `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ` : "";
    return `${this.label}: ${bar}${Math.round(share * 100)}% (${amount(this.done)} of ${amount(this.total)})`;
  }
}
