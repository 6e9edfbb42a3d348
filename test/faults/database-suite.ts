/**
 * A database server refused and frozen, on a server of the test's own (postgres.test.ts, mariadb.test.ts): cached
 * redirects keep serving, everything that needs the database answers 503 + Retry-After within its bound (never hangs, never 500), readiness follows the
 * database, and SIGTERM finishes within its bound — writing every click when the database answers, and saying
 * how many were lost (exit code 1) when it does not.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "../support/http.js";
import { BOOTSTRAP_KEY, type SpawnedJmp, spawnJmp } from "../support/server.js";
import type { ThrowawayDatabase } from "../support/throwaway-postgres.js";

export interface FaultServer {
  name: string;
  /** Why the machine cannot run it, or null. */
  missing: string | null;
  start(): Promise<ThrowawayDatabase>;
}

export function faultSuite(server: FaultServer): void {
  describe(`${server.name} faults`, { skip: server.missing ?? false }, () => {
    let pg: ThrowawayDatabase;
    let jmp: SpawnedJmp;
    let api: Client;
    const visitor = () => new Client(jmp.url);

    const start = async (env: Record<string, string> = {}) => {
      jmp = await spawnJmp({
        JMP_DATABASE_URL: pg.url,
        JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
        JMP_CONFIG_CLICK__FLUSH_INTERVAL: "3600",
        ...env,
      });
      api = new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    };

    before(async () => {
      pg = await server.start();
      await start();
      for (const code of ["warm", "counted"]) {
        assert.equal(
          (await api.post("/admin/v1/links", { code, target: `https://${code}.example` })).status,
          201,
        );
        assert.equal((await visitor().get(`/${code}`)).status, 307);
      }
      // A link no one has visited yet, in the database when the server starts: its link index holds it.
      const cold = await api.post("/admin/v1/links", { code: "cold", target: "https://cold.example" });
      assert.equal(cold.status, 201);
      await jmp.stop("SIGTERM");
      await start();
      let built = false;
      for (let i = 0; i < 100 && !built; i++, await sleep(50)) {
        built = /^jmp_code_filter_rebuilds_total [1-9]/m.test((await api.get("/health/metrics")).text);
      }
      assert.ok(built, "the link index is built");
      assert.equal((await visitor().get("/warm")).status, 307);
    });
    after(async () => {
      try {
        if (jmp && jmp.proc.exitCode === null) await jmp.stop("SIGKILL");
      } finally {
        await pg?.destroy();
      }
    });

    it("frozen: cached redirects serve, the API answers 503 + Retry-After in the envelope within its bound", async (t) => {
      pg.freeze();
      try {
        let served = 0;
        for (let i = 0; i < 50; i++) if ((await visitor().get("/warm")).status === 307) served++;
        assert.equal(served, 50, "every cached redirect is served");
        const cold = await visitor().get("/cold");
        assert.equal(cold.status, 307, "a link first visited while the database is down");
        assert.equal(cold.headers.get("location"), "https://cold.example");

        const started = Date.now();
        const read = await api.get("/admin/v1/links/warm?fresh=1");
        const elapsed = Date.now() - started;
        t.diagnostic(
          `an Admin API read against a frozen database answered ${read.status} after ${elapsed} ms`,
        );
        assert.equal(read.status, 503, read.text);
        assert.equal(read.json.error, "database_unavailable");
        assert.match(read.headers.get("retry-after") ?? "", /^\d+$/);
        assert.ok(elapsed < 20_000, `bounded (${elapsed} ms)`);

        const ready = await visitor().get("/health/ready");
        assert.equal(ready.status, 503, "not ready while the database does not answer");
        assert.equal((await visitor().get("/health/live")).status, 204);
      } finally {
        pg.thaw();
      }
      // Back to normal once it answers again.
      let status = 0;
      for (let i = 0; i < 60 && status !== 200; i++, await sleep(500))
        status = (await api.get("/admin/v1/links/warm")).status;
      assert.equal(status, 200);
      assert.equal((await visitor().get("/health/ready")).status, 200);
    });

    it("refused: the API answers 503 at once, cached redirects still serve, and it recovers", async () => {
      await pg.stop();
      try {
        assert.equal((await visitor().get("/warm")).status, 307);
        const started = Date.now();
        const r = await api.post("/admin/v1/links", { code: "while-down", target: "https://down.example" });
        assert.equal(r.status, 503, r.text);
        assert.ok(Date.now() - started < 10_000);
      } finally {
        await pg.start();
      }
      let status = 0;
      for (let i = 0; i < 60 && status !== 201; i++, await sleep(500)) {
        status = (await api.post("/admin/v1/links", { code: "after-down", target: "https://up.example" }))
          .status;
      }
      assert.equal(status, 201);
    });

    it("SIGTERM with the database frozen: stops within its bound, logs the lost clicks, exits 1", async () => {
      for (let i = 0; i < 7; i++) assert.equal((await visitor().get("/counted")).status, 307);
      pg.freeze();
      try {
        const started = Date.now();
        const code = await jmp.stop("SIGTERM");
        const elapsed = Date.now() - started;
        assert.equal(code, 1);
        assert.ok(elapsed < 12_000, `stopped in ${elapsed} ms`);
        // Every click this process served since start (none was written: the flush interval is an hour).
        const lost = /"level":50[^\n]*"clicks":(\d+)[^\n]*lost/.exec(jmp.stdout());
        assert.ok(lost, "the lost clicks are logged at error level");
        assert.ok(Number(lost[1]) >= 7, lost[0]);
      } finally {
        pg.thaw();
      }
    });

    it("SIGTERM with the database up: every buffered click is written, exit 0", async () => {
      await start();
      const before = (await api.get("/admin/v1/links/counted")).json.data.click_count as number;
      for (let i = 0; i < 5; i++) assert.equal((await visitor().get("/counted")).status, 307);
      assert.equal(await jmp.stop("SIGTERM"), 0);
      await start();
      assert.equal((await api.get("/admin/v1/links/counted")).json.data.click_count, before + 5);
    });

    it("JMP_WORKERS=2, SIGTERM with the database frozen: a worker that loses clicks makes the instance exit 1", async () => {
      if (jmp.proc.exitCode === null) assert.equal(await jmp.stop("SIGTERM"), 0);
      await start({ JMP_WORKERS: "2" });
      // Enough visits on fresh connections that both workers serve (and buffer) some.
      for (let i = 0; i < 20; i++) assert.equal((await visitor().get("/counted")).status, 307);
      pg.freeze();
      try {
        const started = Date.now();
        const code = await jmp.stop("SIGTERM");
        const elapsed = Date.now() - started;
        assert.equal(code, 1, "the primary reports the worker's failed stop");
        assert.ok(elapsed < 15_000, `stopped in ${elapsed} ms`);
        assert.match(jmp.stdout(), /a worker did not stop cleanly/);
      } finally {
        pg.thaw();
      }
    });
  });
}
