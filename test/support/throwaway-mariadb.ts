/**
 * A MariaDB server of the test's own, on its own port and data directory, for fault tests that stop, freeze and
 * thaw the server (never the shared one on 3306). Needs the machine's MariaDB binaries and the `mysql` user;
 * `available()` says why not when they are missing. Same shape as throwaway-postgres.ts.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./ports.js";
import type { ThrowawayDatabase } from "./throwaway-postgres.js";

const SERVER = "/usr/sbin/mariadbd";
const INSTALL = "/usr/bin/mariadb-install-db";
const CLIENT = "/usr/bin/mariadb";

export function available(): string | null {
  if (!existsSync(SERVER) || !existsSync(INSTALL) || !existsSync(CLIENT)) return "no MariaDB binaries";
  if (spawnSync("id", ["-u", "mysql"]).status !== 0) return "no mysql user";
  if (process.getuid?.() !== 0) return "not root (cannot run the server as the mysql user)";
  return null;
}

export async function startThrowawayMariadb(): Promise<ThrowawayDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-mariadb-"));
  const uid = Number(execFileSync("id", ["-u", "mysql"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "mysql"], { encoding: "utf8" }).trim());
  chownSync(dir, uid, gid);
  const data = path.join(dir, "data");
  execFileSync(
    INSTALL,
    [
      `--datadir=${data}`,
      "--user=mysql",
      "--skip-test-db",
      // root over TCP with no password, like the shared server the other tests use
      "--auth-root-authentication-method=normal",
    ],
    {
      stdio: "pipe",
      timeout: 60_000,
    },
  );
  const port = await freePort();
  const client = (sql: string) =>
    spawnSync(CLIENT, ["-h127.0.0.1", `-P${port}`, "-uroot", "-e", sql], { stdio: "pipe", timeout: 5_000 });

  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn(
      SERVER,
      [
        "--no-defaults",
        `--datadir=${data}`,
        "--user=mysql",
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        `--socket=${path.join(dir, "sock")}`,
        `--pid-file=${path.join(dir, "pid")}`,
        "--skip-log-bin",
        "--innodb-buffer-pool-size=32M",
      ],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100; i++) {
      if (client("select 1").status === 0) return;
      await sleep(100);
    }
    throw new Error("the throwaway MariaDB did not start within 10 s");
  };
  const signal = (name: NodeJS.Signals) => {
    try {
      server?.kill(name);
    } catch {
      // gone already
    }
  };
  const kill = async () => {
    const running = server;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    signal("SIGCONT");
    running.kill("SIGKILL");
    await new Promise((resolve) => running.once("exit", resolve));
  };

  await start();
  client("CREATE DATABASE jmp");
  return {
    url: `mysql://root@127.0.0.1:${port}/jmp`,
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    stop: kill,
    start,
    async destroy() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
