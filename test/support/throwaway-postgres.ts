/**
 * A PostgreSQL cluster of the test's own, on its own port, for fault tests that stop, freeze and thaw the server
 * (never the shared one on 5432). Needs the machine's PostgreSQL binaries and the `postgres` user (the server
 * refuses to run as root); `available()` says why not when they are missing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./ports.js";

const ROOT = "/usr/lib/postgresql";

function binaries(): string | null {
  if (!existsSync(ROOT)) return null;
  const version = readdirSync(ROOT).sort().at(-1);
  return version ? path.join(ROOT, version, "bin") : null;
}

export function available(): string | null {
  if (!binaries()) return "no PostgreSQL binaries under /usr/lib/postgresql";
  if (spawnSync("id", ["-u", "postgres"]).status !== 0) return "no postgres user";
  if (process.getuid?.() !== 0) return "not root (cannot run the server as the postgres user)";
  return null;
}

/** A database server a fault test owns: it may freeze, stop and restart it. */
export interface ThrowawayDatabase {
  url: string;
  /** SIGSTOP every process of the server: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Stops the server at once (connections are refused afterwards). */
  stop(): void | Promise<void>;
  start(): void | Promise<void>;
  destroy(): void | Promise<void>;
}

export async function startThrowawayPostgres(): Promise<ThrowawayDatabase> {
  const bin = binaries()!;
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-pg-"));
  chmodSync(dir, 0o700);
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  chownSync(dir, uid, gid);
  const port = await freePort();
  const asPostgres = (args: string[]) =>
    execFileSync("runuser", ["-u", "postgres", "--", ...args], { stdio: "pipe", timeout: 60_000 });
  asPostgres([path.join(bin, "initdb"), "-D", path.join(dir, "data"), "-A", "trust", "-U", "postgres"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () =>
    asPostgres([
      path.join(bin, "pg_ctl"),
      "-D",
      path.join(dir, "data"),
      "-o",
      options,
      "-l",
      path.join(dir, "log"),
      "-w",
      "start",
    ]);
  start();
  const pids = () => {
    const file = path.join(dir, "data", "postmaster.pid");
    if (!existsSync(file)) return [];
    const main = readFileSync(file, "utf8").split("\n")[0]!.trim();
    const children = spawnSync("pgrep", ["-P", main], { encoding: "utf8" })
      .stdout.trim()
      .split("\n")
      .filter(Boolean);
    return [main, ...children].map(Number);
  };
  const signal = (name: NodeJS.Signals) => {
    for (const pid of pids()) {
      try {
        process.kill(pid, name);
      } catch {
        // gone already
      }
    }
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    stop: () => {
      asPostgres([path.join(bin, "pg_ctl"), "-D", path.join(dir, "data"), "-m", "immediate", "stop"]);
    },
    start: () => {
      start();
    },
    destroy() {
      signal("SIGCONT");
      spawnSync("runuser", [
        "-u",
        "postgres",
        "--",
        path.join(bin, "pg_ctl"),
        "-D",
        path.join(dir, "data"),
        "-m",
        "immediate",
        "stop",
      ]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
