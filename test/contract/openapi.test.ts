/**
 * The OpenAPI description: public, OpenAPI 3.1, clean under the Redocly linter's recommended rules, complete
 * (every Admin API route), and — through test/support/contract.ts — obeyed by every answer the contract suite sees.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { contractChecker } from "../support/contract.js";
import { startServer, type TestServer } from "../support/server.js";

describe("OpenAPI description", () => {
  let s: TestServer;
  let spec: { openapi: string; paths: Record<string, Record<string, { operationId?: string }>> };
  before(async () => {
    s = await startServer("sqlite");
    const r = await s.anon.get("/admin/v1/openapi.json");
    assert.equal(r.status, 200, "public: no credential needed");
    spec = r.json;
  });
  after(() => s.close());

  it("is OpenAPI 3.1 with both security schemes and the error envelope", () => {
    assert.equal(spec.openapi, "3.1.0");
    const text = JSON.stringify(spec);
    assert.match(text, /"bearer":\{"type":"http","scheme":"bearer"/);
    assert.match(text, /"cookie":\{"type":"apiKey","in":"cookie","name":"jmp_access"\}/);
    const get = (spec.paths["/admin/v1/links/{code}"] as Record<string, any>).get;
    assert.deepEqual(Object.keys(get.responses.default.content), ["application/json"]);
    assert.equal(get["x-required-scope"], "links:read");
  });

  it("passes the Redocly linter (recommended rules) without errors or warnings", async () => {
    const config = await createConfig({
      extends: ["recommended"],
      // `/keys/by-name/{name}` and `/keys/{id}/rotate` have the same shape; `by-name` is a literal segment and
      // literal segments win (in Fastify's router and in the spec's own matching rules), so they never collide.
      rules: { "no-ambiguous-paths": "off" },
    });
    const problems = await lintFromString({
      source: JSON.stringify(spec),
      absoluteRef: "openapi.json",
      config,
    });
    const shown = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    assert.deepEqual(shown, []);
  });

  it("describes every Admin API operation, each with a unique operationId", () => {
    const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method, id: op.operationId })),
    );
    const expected = [
      "get /admin/v1/links",
      "post /admin/v1/links",
      "get /admin/v1/links/{code}",
      "get /admin/v1/links/{code}/qr",
      "put /admin/v1/links/{code}",
      "delete /admin/v1/links/{code}",
      "post /admin/v1/links/batch",
      "put /admin/v1/links/batch",
      "delete /admin/v1/links/batch",
      "get /admin/v1/links/export",
      "post /admin/v1/links/import",
      "get /admin/v1/stats",
      "get /admin/v1/tags",
      "put /admin/v1/tags/{tag}",
      "delete /admin/v1/tags/{tag}",
      "post /admin/v1/apply",
      "get /admin/v1/export",
      "get /admin/v1/config",
      "get /admin/v1/config/schema",
      "post /admin/v1/config/reload",
      "get /admin/v1/config/{key}",
      "put /admin/v1/config/{key}",
      "post /admin/v1/config/{key}/reset",
      "get /admin/v1/config/{key}/history",
      "post /admin/v1/config/{key}/action",
      "post /admin/v1/config/{key}/execute-and-save",
      "post /admin/v1/auth/login",
      "post /admin/v1/auth/refresh",
      "post /admin/v1/auth/logout",
      "post /admin/v1/auth/logout-everywhere",
      "get /admin/v1/auth/verify",
      "get /admin/v1/auth/whoami",
      "get /admin/v1/keys",
      "post /admin/v1/keys",
      "put /admin/v1/keys/by-name/{name}",
      "get /admin/v1/keys/{id}",
      "patch /admin/v1/keys/{id}",
      "post /admin/v1/keys/{id}/rotate",
      "delete /admin/v1/auth/api-key",
      "delete /admin/v1/keys/{id}",
      "get /admin/v1/audit",
      "get /admin/v1/analytics/trends",
      "get /admin/v1/analytics/top",
      "get /admin/v1/analytics/tags",
      "get /admin/v1/analytics/referrers",
      "get /admin/v1/analytics/geo",
      "get /admin/v1/analytics/clicks",
      "get /admin/v1/analytics/devices",
      "get /admin/v1/analytics/export",
      "get /admin/v1/analytics/summary",
      "delete /admin/v1/links/{code}/analytics",
      "get /admin/v1/links/{code}/analytics",
      "get /admin/v1/links/{code}/analytics/devices",
      "get /health",
      "get /health/live",
      "get /health/metrics",
      "get /health/ready",
    ];
    assert.deepEqual(operations.map((o) => `${o.method} ${o.path}`).sort(), expected.sort());
    const ids = operations.map((o) => o.id);
    assert.ok(ids.every(Boolean), "every operation has an operationId");
    assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
  });

  it("serves the paths under the configured prefixes", async () => {
    await s.api.put("/admin/v1/config/routes.health_prefix", { value: "/status" });
    try {
      const r = await s.anon.get("/admin/v1/openapi.json");
      assert.ok("/status/ready" in r.json.paths);
      assert.ok(!("/health/ready" in r.json.paths));
    } finally {
      await s.api.put("/admin/v1/config/routes.health_prefix", { value: "/health" });
    }
  });

  it("the contract checker is really at work: a wrong answer would fail the test that got it", async () => {
    const checker = (await contractChecker(s.url))!;
    await s.api.get("/admin/v1/stats");
    assert.ok(checker.checked > 0);
    const good = JSON.stringify({
      code: 0,
      message: "OK",
      data: { total_links: 1, total_clicks: 0, active_links: 1 },
    });
    assert.equal(checker.check("GET", "/admin/v1/stats", undefined, 200, "application/json", good), null);
    const extra = JSON.stringify({
      code: 0,
      message: "OK",
      data: { total_links: 1, total_clicks: 0, active_links: 1, x: 1 },
    });
    assert.match(
      checker.check("GET", "/admin/v1/stats", undefined, 200, "application/json", extra) ?? "",
      /additional/,
    );
    const undocumented = checker.check("GET", "/admin/v1/stats", undefined, 201, "application/json", good);
    assert.match(undocumented ?? "", /status|match/);
    const acceptedBad = checker.check("POST", "/admin/v1/links", { url: "x" }, 201, "application/json", "");
    assert.match(acceptedBad ?? "", /accepted a request the description forbids/);
  });
});
