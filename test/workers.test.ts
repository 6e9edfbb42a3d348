/**
 * `JMP_WORKERS`: one port, several processes, caches kept coherent. Every request below opens a new connection,
 * so the kernel spreads them over the workers; a write acknowledged by one worker must be what every worker
 * serves right after (the primary relays the change doorbell), a dead worker is replaced, and SIGTERM stops
 * them all with their buffered clicks written.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "./support/http.js";
import { BOOTSTRAP_KEY, type SpawnedJmp, spawnJmp } from "./support/server.js";

/** GET on a fresh connection (no keep-alive), so consecutive requests may reach different workers. */
function visit(base: string, pathname: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(pathname, base),
      { agent: false, headers: { connection: "close" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode!, location: res.headers.location }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function workerPids(primary: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(primary)], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
  } catch {
    return [];
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("JMP_WORKERS=2", () => {
  let jmp: SpawnedJmp;
  let api: Client;
  const dataDir = mkdtempSync(path.join(tmpdir(), "jmp-workers-"));

  before(async () => {
    jmp = await spawnJmp({ JMP_WORKERS: "2", JMP_DATA_DIR: dataDir, JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY });
    api = new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    await until("both workers", () => jmp.stdout().split('"msg":"jmp is listening"').length - 1 === 2);
  });
  after(async () => {
    if (jmp.proc.exitCode === null) await jmp.stop("SIGKILL");
  });

  it("serves from two processes, and every worker serves a change as soon as it is acknowledged", async () => {
    assert.equal(workerPids(jmp.proc.pid!).length, 2);
    assert.equal(
      (await api.post("/admin/v1/links", { code: "w", target: "https://one.example/" })).status,
      201,
    );
    for (let i = 0; i < 10; i++) assert.equal((await visit(jmp.url, "/w")).location, "https://one.example/");

    for (let round = 2; round <= 5; round++) {
      const target = `https://v${round}.example/`;
      assert.equal((await api.put("/admin/v1/links/w", { target })).status, 200);
      // The relay is in-process IPC: allow it a moment, far inside the 1 s promise.
      await sleep(100);
      for (let i = 0; i < 10; i++) {
        assert.equal((await visit(jmp.url, "/w")).location, target, `round ${round}, request ${i}`);
      }
    }
    assert.equal((await api.delete("/admin/v1/links/w")).status, 200);
    await sleep(100);
    for (let i = 0; i < 10; i++) assert.equal((await visit(jmp.url, "/w")).status, 404);
  });

  it("merges both workers' metrics", async () => {
    const text = (await api.get("/health/metrics")).text;
    const redirects = text
      .split("\n")
      .filter((line) => line.startsWith('jmp_http_requests_total{route_class="redirect"'))
      .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
    assert.ok(redirects >= 60, `${redirects} redirects counted`);
  });

  it("shares the login limit between workers: 100 parallel guesses, at most 5 checked", async () => {
    const guesses = Array.from(
      { length: 100 },
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          const body = JSON.stringify({ password: `guess-${i}` });
          const req = request(
            new URL("/admin/v1/auth/login", jmp.url),
            {
              method: "POST",
              agent: false,
              headers: {
                connection: "close",
                "content-type": "application/json",
                "content-length": body.length,
              },
            },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode!));
            },
          );
          req.on("error", reject);
          req.end(body);
        }),
    );
    const statuses = await Promise.all(guesses);
    const checked = statuses.filter((status) => status === 401).length;
    assert.ok(checked <= 5, `${checked} guesses were checked`);
    assert.equal(statuses.filter((status) => status === 429).length, 100 - checked);
  });

  it("replaces a worker that dies", async () => {
    const [victim] = workerPids(jmp.proc.pid!);
    process.kill(victim!, "SIGKILL");
    await until("a new worker", () => {
      const pids = workerPids(jmp.proc.pid!);
      return pids.length === 2 && !pids.includes(victim!);
    });
    await api.post("/admin/v1/links", { code: "after", target: "https://after.example/" });
    for (let i = 0; i < 10; i++) assert.equal((await visit(jmp.url, "/after")).status, 307);
  });

  it("writes every worker's buffered clicks when the primary gets SIGUSR2", async () => {
    await api.post("/admin/v1/links", { code: "usr2", target: "https://u.example/" });
    for (let i = 0; i < 30; i++) await visit(jmp.url, "/usr2");
    // 30 clicks on fresh connections land on both workers, below the threshold (100) and the interval (30 s).
    assert.equal((await api.get("/admin/v1/links/usr2")).json.data.click_count, 0, "still buffered");
    jmp.proc.kill("SIGUSR2");
    await until(
      "every worker's clicks written",
      async () => {
        return (await api.get("/admin/v1/links/usr2")).json.data.click_count === 30;
      },
      5_000,
    );
    assert.equal(workerPids(jmp.proc.pid!).length, 2, "both workers still run");
  });

  it("stops every worker on SIGTERM, writing their buffered clicks", async () => {
    await api.post("/admin/v1/links", { code: "clicked", target: "https://c.example/" });
    for (let i = 0; i < 20; i++) await visit(jmp.url, "/clicked");
    const workers = workerPids(jmp.proc.pid!);
    assert.equal(await jmp.stop("SIGTERM"), 0, jmp.stdout().split("\n").slice(-12).join("\n"));
    for (const pid of workers) assert.throws(() => process.kill(pid, 0), "worker stopped");

    const again = await spawnJmp({ JMP_DATA_DIR: dataDir, JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY });
    try {
      const link = await new Client(again.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` }).get(
        "/admin/v1/links/clicked",
      );
      assert.equal(link.json.data.click_count, 20);
    } finally {
      await again.stop();
    }
  });
});
