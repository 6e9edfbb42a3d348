/**
 * For the ship tests: a copy of the working tree as a fresh clone has it (tracked files plus new files git does
 * not ignore — no node_modules, no dist, no data), and a child-process runner that keeps the output.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../../..");

export function freshCopy(label: string): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), `jmp-${label}-`)), "jmp");
  const listed = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    try {
      cpSync(path.join(ROOT, file), path.join(dir, file));
    } catch {
      // deleted in the working tree but not yet in the index
    }
  }
  return dir;
}

export interface Ran {
  code: number | null;
  output: string;
}

/** Runs a command to its end (bounded by `timeoutMs`), with stdout and stderr together in `output`. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface Listening {
  url: string;
  output(): string;
  stop(): void;
}

/**
 * Starts a jmp however a user would (an installed `jmp`, `npm start`, a built tree) on a free loopback port and
 * waits until it listens. `detached` puts it in its own process group (for `npm start`, whose child is the
 * server), so `stop` ends the whole group.
 */
export async function startListening(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; port: number; detached?: boolean; timeoutMs?: number },
): Promise<Listening> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...options.env, JMP_PORT: String(options.port) },
    detached: options.detached ?? false,
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!/jmp is listening/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`${command} ${args.join(" ")} did not listen:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${options.port}`,
    output: () => output,
    stop: () => {
      if (options.detached && child.pid) process.kill(-child.pid, "SIGTERM");
      else child.kill("SIGTERM");
    },
  };
}

/** Creates a link with the bootstrap key and returns where the instance redirects it. */
export async function createAndFollow(url: string, token: string, code: string, target: string) {
  const created = await fetch(`${url}/admin/v1/links`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ code, target }),
  });
  const redirect = await fetch(`${url}/${code}`, { redirect: "manual" });
  return { created: created.status, location: redirect.headers.get("location") };
}
