/**
 * The way to grow past one machine (docs/deployment.md): three instances on one PostgreSQL and one Redis, visits
 * spread over all three, admin writes on one. No instance may serve a target older than the newest one
 * acknowledged more than 1 s before the visit started.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createDatabase, REQUIRE_ENGINES, type TestDatabase, unreachable } from "./support/engines.js";
import { Client } from "./support/http.js";
import { BOOTSTRAP_KEY, type SpawnedJmp, spawnJmp } from "./support/server.js";

const REDIS_URL = process.env.JMP_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const CODES = Array.from({ length: 20 }, (_, i) => `so-${i}`);
const LOAD_MS = 5000;

/** A visit on a fresh connection: where it was sent, when it started, what came back. */
function visit(
  base: string,
  code: string,
): Promise<{ started: number; status: number; location: string | undefined }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(`${base}/${code}`, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ started, status: res.statusCode!, location: res.headers.location }));
    });
    req.on("error", reject);
    req.end();
  });
}

const versionOf = (location: string | undefined) =>
  Number(/^https:\/\/v(\d+)\.example\//.exec(location ?? "")?.[1]);

describe("scale-out: three instances on PostgreSQL + Redis", async () => {
  const reason = (await unreachable("postgres")) ?? null;
  if (reason && REQUIRE_ENGINES) throw new Error(reason);
  let db: TestDatabase;
  const instances: SpawnedJmp[] = [];

  before(async () => {
    if (reason) return;
    db = await createDatabase("postgres");
    const env = { JMP_DATABASE_URL: db.url, JMP_REDIS_URL: REDIS_URL, JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY };
    for (let i = 0; i < 3; i++) instances.push(await spawnJmp(env));
  });
  after(async () => {
    for (const instance of instances) await instance.stop();
    await db?.drop();
  });

  it(
    "serves no stale target once a write is acknowledged plus 1 s, under load on all three",
    { skip: reason ?? false },
    async () => {
      const writer = new Client(instances[0]!.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
      const created = await writer.post("/admin/v1/links/batch", {
        links: CODES.map((code) => ({ code, target: `https://v0.example/${code}` })),
      });
      assert.equal(created.json.data.success.length, CODES.length);
      await sleep(1000);

      // acked[code] = [version, acknowledged at] in write order
      const acked = new Map<string, [number, number][]>(
        CODES.map((code) => [code, [[0, Date.now() - 1000]]]),
      );
      const visits: { instance: number; code: string; started: number; status: number; version: number }[] =
        [];
      const until = Date.now() + LOAD_MS;

      const writes = (async () => {
        for (let version = 1; Date.now() < until; version++) {
          const code = CODES[version % CODES.length]!;
          const r = await writer.put(`/admin/v1/links/${code}`, {
            target: `https://v${version}.example/${code}`,
          });
          assert.equal(r.status, 200);
          acked.get(code)!.push([version, Date.now()]);
          await sleep(25);
        }
      })();
      const readers = Array.from({ length: 12 }, async (_, reader) => {
        for (let n = 0; Date.now() < until; n++) {
          const instance = (reader + n) % instances.length;
          const code = CODES[(reader * 7 + n) % CODES.length]!;
          const seen = await visit(instances[instance]!.url, code);
          visits.push({
            instance,
            code,
            started: seen.started,
            status: seen.status,
            version: versionOf(seen.location),
          });
        }
      });
      await Promise.all([writes, ...readers]);

      const stale = visits.filter((v) => {
        const required = acked
          .get(v.code)!
          .filter(([, at]) => at + 1000 <= v.started)
          .reduce((newest, [version]) => Math.max(newest, version), 0);
        return !(v.version >= required);
      });
      const perInstance = [0, 1, 2].map((i) => visits.filter((v) => v.instance === i).length);
      const writesDone = [...acked.values()].reduce((sum, list) => sum + list.length - 1, 0);
      assert.ok(writesDone >= 20, `${writesDone} writes`);
      assert.ok(
        perInstance.every((n) => n >= 100),
        `visits per instance: ${perInstance.join(", ")}`,
      );
      // A failure shows what the instance answered and what it logged (a 5xx is logged with its cause).
      const logs = [...new Set(stale.map((v) => v.instance))]
        .map((i) => `instance ${i} stderr:\n${instances[i]!.stderr().slice(-3000)}`)
        .join("\n");
      assert.deepEqual(stale.slice(0, 5), [], `${stale.length} stale of ${visits.length} visits\n${logs}`);
    },
  );
});
