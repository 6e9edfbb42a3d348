/**
 * Which server process uses a SQLite database: `jmp serve` writes `<database>.server` (its pid and host) when it
 * starts and removes it when it exits, so `jmp restore` can refuse to swap the file under a running server. A
 * mark left by a killed server names a process that no longer exists (or another host's), and counts as none.
 * SQLite files are never shared between hosts, so a pid on this host is the whole story.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hostname } from "node:os";

interface Mark {
  pid: number;
  host: string;
  started_at: string;
}

function markPath(location: string): string {
  return `${location}.server`;
}

/** Marks the database as used by this process until it exits. */
export function markServing(location: string): void {
  if (location === ":memory:") return;
  const file = markPath(location);
  mkdirSync(path.dirname(location), { recursive: true, mode: 0o700 });
  const mark: Mark = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(mark)}\n`, { mode: 0o600 });
  process.on("exit", () => {
    // Only our own mark: a second server started on the same file (refused by nothing else) keeps its own.
    if (servingProcess(location) === process.pid) rmSync(file, { force: true });
  });
}

/** The pid of the live server process using the database, or null. */
export function servingProcess(location: string): number | null {
  let mark: Mark;
  try {
    mark = JSON.parse(readFileSync(markPath(location), "utf8")) as Mark;
  } catch {
    return null;
  }
  if (mark.host !== hostname() || !Number.isInteger(mark.pid)) return null;
  try {
    process.kill(mark.pid, 0);
    return mark.pid;
  } catch (err) {
    // EPERM: it exists but belongs to another user (the service's) — still a running server.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? mark.pid : null;
  }
}
