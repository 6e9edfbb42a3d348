/**
 * Test servers: the real app on a real port. `startServer` runs it in this process (fast; most contract tests);
 * `spawnJmp` runs the built CLI as a child process (settings, signals, first start, the CLI itself).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { after, before, describe } from "node:test";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { App } from "../../src/app.js";
import { generateApiKey } from "../../src/auth/api-key-format.js";
import { hashPassword } from "../../src/util/password.js";
import { readSettings } from "../../src/settings.js";
import type { Engine } from "../../src/store/db.js";
import { createDatabase, ENGINES, REQUIRE_ENGINES, type TestDatabase, unreachable } from "./engines.js";
import { Client } from "./http.js";

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/main.js");
export const ADMIN_PASSWORD = "correct horse battery staple";
export const BOOTSTRAP_KEY = generateApiKey();

let passwordHash: Promise<string> | undefined;
/** Hashing once per test process keeps server starts fast. */
export function adminPasswordHash(): Promise<string> {
  passwordHash ??= hashPassword(ADMIN_PASSWORD);
  return passwordHash;
}

export interface TestServer {
  url: string;
  app: App;
  db: TestDatabase;
  engine: Engine;
  /** Authenticated with the bootstrap API key (no CSRF needed). */
  api: Client;
  /** Unauthenticated. */
  anon: Client;
  close(): Promise<void>;
}

/**
 * Starts an instance on a new database, or on `shared` (another instance's database: the caller drops it).
 */
export async function startServer(
  engine: Engine,
  env: Record<string, string> = {},
  shared?: TestDatabase,
): Promise<TestServer> {
  const db = shared ?? (await createDatabase(engine));
  const settings = readSettings({
    JMP_DATABASE_URL: db.url,
    JMP_PORT: "0",
    JMP_ADMIN_PASSWORD: await adminPasswordHash(),
    JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
    ...env,
  });
  const app = await App.open(settings, pino({ level: process.env.JMP_TEST_LOG_LEVEL ?? "silent" }));
  const url = await app.listen();
  return {
    url,
    app,
    db,
    engine,
    api: new Client(url, { authorization: `Bearer ${BOOTSTRAP_KEY}` }),
    anon: new Client(url),
    async close() {
      await app.close();
      if (!shared) await db.drop();
    },
  };
}

/**
 * Two instances on one database, as two processes of a deployment: started before the block's tests (then
 * `started` runs, for assignments and the block's own setup) and closed after them.
 */
export function twoInstances(
  engine: Engine,
  started: (a: TestServer, b: TestServer) => void | Promise<void>,
): void {
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  before(async () => {
    a = await startServer(engine);
    b = await startServer(engine, {}, a.db);
    await started(a, b);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });
}

/** Runs `body` once per configured engine, as a describe block named after it; skips unreachable engines. */
export function forEachEngine(name: string, body: (engine: Engine) => void): void {
  for (const engine of ENGINES) {
    describe(`${name} [${engine}]`, async () => {
      const reason = await unreachable(engine);
      if (reason && REQUIRE_ENGINES) throw new Error(reason);
      if (reason) {
        describe(`skipped: ${reason}`, { skip: reason }, () => {});
        return;
      }
      body(engine);
    });
  }
}

export interface SpawnedJmp {
  url: string;
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `jmp <args>` to completion. */
export function runJmp(
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      env: childEnv(env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => {
      stdout += d;
    });
    proc.stderr.on("data", (d) => {
      stderr += d;
    });
    proc.on("error", reject);
    proc.on("exit", (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(input ?? "");
  });
}

/** Starts `jmp serve` and waits until it listens (or exits). */
export function spawnJmp(
  env: Record<string, string>,
  options: { onSpawn?: (proc: ChildProcess) => void } = {},
): Promise<SpawnedJmp> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, "serve"], { env: childEnv({ JMP_PORT: "0", ...env }) });
    options.onSpawn?.(proc);
    let out = "";
    let err = "";
    const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`jmp did not start:\n${out}\n${err}`)), 20_000);
    proc.stderr!.on("data", (d) => {
      err += d;
    });
    proc.stdout!.on("data", (d) => {
      out += d;
      const match = /"address":"([^"]+)"[^\n]*"msg":"jmp is listening"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1]!,
          proc,
          stdout: () => out,
          stderr: () => err,
          stop: (signal = "SIGTERM") => {
            proc.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`jmp exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, JMP_LOG_LEVEL: "info" };
  return { ...base, ...env };
}
