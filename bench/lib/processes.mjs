// Process plumbing for the benchmark: started servers (each in its own process group), cleanups, waiting for a
// port, CPU and RSS readings from /proc, and small number helpers.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = path.join(ROOT, "dist/src/cli/main.js");

export const children = new Set();
/** Each started server's output, shown when the bench fails. */
export const outputs = [];
/** Run in reverse order at the end (and on failure). */
export const cleanups = [];

/** Stops everything and exits 1 once `ms` have passed. */
export function armDeadline(ms) {
  const deadline = setTimeout(() => {
    console.error(`bench: the ${ms / 60_000}-minute deadline passed; stopping`);
    for (const child of children) signalGroup(child, "SIGKILL");
    process.exit(1);
  }, ms);
  deadline.unref();
  return deadline;
}

export async function runCleanups() {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
}

/** Signals a started process and everything in its group. */
export function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export const log = (message) => console.error(`bench: ${message}`);

export function have(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

/** Installs a Debian package when missing and possible (root with apt-get); true when the command exists. */
export function ensure(command, pkg) {
  if (have(command)) return true;
  if (process.getuid?.() !== 0 || !have("apt-get")) return false;
  log(`installing ${pkg} from Debian`);
  spawnSync("apt-get", ["install", "-y", "-q", pkg], { stdio: "ignore", timeout: 180_000 });
  return have(command);
}

export function start(command, args, env = {}) {
  // Its own process group: the bench pauses a target with all its processes (cluster workers, nginx workers).
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.add(child);
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  child.on("exit", () => children.delete(child));
  outputs.push(() => output);
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        signalGroup(child, "SIGCONT");
        child.kill("SIGTERM");
      }),
  };
}

export async function waitFor(url, what, ok = (status) => status < 500, seconds = 10) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    try {
      const r = await fetch(url, { redirect: "manual" });
      if (ok(r.status)) return;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  throw new Error(`${what} did not start`);
}

/**
 * fetch, retried once: a pooled keep-alive connection may be closed by the server's idle timeout just as it is
 * reused ("other side closed") after a long wrk run.
 */
export async function call(url, init) {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

let nextPort = 18_100;
export const port = () => nextPort++;

export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
  } catch {
    return null;
  }
}

const TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

/**
 * CPU time (user + system, every thread) used so far by a process group: the server's cost per request,
 * whatever share of the machine the load generator took meanwhile. On a shared or virtual machine it varies
 * less than requests per second do.
 */
export function cpuSeconds(group) {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // After "pid (comm) ": state ppid pgrp … utime (11th) stime (12th)
      if (Number(fields[2]) === group) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / TICKS_PER_SECOND;
}

export const round = (v, digits = 2) =>
  v === null || v === undefined ? null : Math.round(v * 10 ** digits) / 10 ** digits;
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
