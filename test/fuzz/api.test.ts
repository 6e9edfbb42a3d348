/**
 * A schema-driven fuzzer: at least 10 000 malformed requests per engine, built from the OpenAPI description of
 * every Admin and health operation (wrong types, missing and unknown fields, hostile strings, broken JSON, deep
 * nesting, wrong content types, hostile path and query values) plus the redirect path (hostile paths, methods
 * and headers). Every answer must be below 500 and the server must stay up. Seeded: the seed is printed, and
 * `JMP_FUZZ_SEED=<seed>` replays a run; `JMP_FUZZ_REQUESTS` changes the count.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

const REQUESTS = Number(process.env.JMP_FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.JMP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = 8;
const SENTINEL = "sentinel-9f3c2a";

/** mulberry32: small, fast, and the same sequence for the same seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Random = ReturnType<typeof random>;

const HOSTILE_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "%00",
  "x".repeat(5000),
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "'; DROP TABLE links;--",
  "\r\nSet-Cookie: pwned=1",
  "😀🔥",
  "\ud800",
  "javascript:alert(1)",
  "http://[::1]:80/",
  "https://例え.jp/パス",
  "admin",
  "/admin",
  "x/analytics",
  "a/qr",
  "-1",
  "1e999",
  "null",
  "true",
  "[]",
  "{}",
  "%E0%A4%A",
  "\\",
  '"',
  "jmp_" + "A".repeat(49),
  "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
  "sha256:" + "0".repeat(64),
  "2030-01-01T00:00:00Z",
  "9999-99-99",
  "7d",
  "links:read",
  "seed",
];
const HOSTILE_NUMBERS = [-1, 0, 1, 2, 3.5, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308, -1e308];
const CONTENT_TYPES = [
  "application/json",
  "text/plain",
  "application/yaml",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "",
];

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}
interface Operation {
  parameters?: { in: string; name: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  additionalProperties?: boolean | Schema;
}

function hostileString(r: Random): string {
  if (r.chance(0.15))
    return Array.from({ length: r.int(40) }, () => String.fromCharCode(r.int(0x3000))).join("");
  return r.pick(HOSTILE_STRINGS);
}

/** A value shaped by `schema` — most of the time — with hostile leaves, wrong types and stray keys. */
function valueFor(schema: Schema | undefined, spec: Spec, r: Random, depth = 0): unknown {
  if (!schema || depth > 6) return hostileString(r);
  if (schema.$ref)
    return valueFor(spec.components?.schemas?.[schema.$ref.split("/").pop()!], spec, r, depth + 1);
  if (r.chance(0.08)) return r.pick<unknown>([null, true, 42, "str", [], {}, [[[]]], hostileString(r)]);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return valueFor(r.pick(variants), spec, r, depth + 1);
  if (schema.enum) return r.chance(0.7) ? r.pick(schema.enum) : hostileString(r);
  if (schema.const !== undefined) return r.chance(0.7) ? schema.const : hostileString(r);
  const type = Array.isArray(schema.type) ? r.pick(schema.type) : schema.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        if (r.chance(0.6)) out[name] = valueFor(property, spec, r, depth + 1);
      }
      if (r.chance(0.1)) out[hostileString(r).slice(0, 40) || "extra"] = hostileString(r);
      return out;
    }
    case "array":
      // Now and then one long list (past the batch limits), of shallow items: the document stays small.
      if (depth <= 1 && r.chance(0.03))
        return Array.from({ length: 5001 }, () => valueFor(schema.items, spec, r, 6));
      return Array.from({ length: r.int(4) }, () => valueFor(schema.items, spec, r, depth + 1));
    case "integer":
    case "number":
      return r.chance(0.8) ? r.pick(HOSTILE_NUMBERS) : hostileString(r);
    case "boolean":
      return r.chance(0.8) ? r.chance(0.5) : r.pick(["true", 1, "yes"]);
    case "null":
      return null;
    default:
      return hostileString(r);
  }
}

function rawBody(r: Random): string {
  return r.pick([
    "{",
    "{'a':1}",
    "[".repeat(5000),
    '{"a":'.repeat(200),
    "\u0000",
    "null",
    '"just a string"',
    "apiVersion: jmp/v1\nlinks: *a\n",
    "a: &a [1]\nb: [*a, *a]\n",
    "code,target\nx,https://x.example\n",
    "x".repeat(70_000),
  ]);
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** encodeURIComponent, which throws on a lone surrogate: such a client sends U+FFFD instead (as UTF-8 does). */
function encode(value: string): string {
  return encodeURIComponent(Buffer.from(value, "utf8").toString("utf8"));
}

function pathValue(name: string, r: Random, known: Record<string, string[]>): string {
  const value = r.chance(0.3) && known[name]?.length ? r.pick(known[name]!) : hostileString(r);
  // Mostly well encoded; sometimes raw (slashes, percent signs) as a careless client would send it.
  return r.chance(0.8) ? encode(value) : value.replace(/[?#\s]/g, "");
}

function apiRequest(spec: Spec, r: Random, known: Record<string, string[]>): FuzzRequest {
  const templates = Object.keys(spec.paths);
  const template = r.pick(templates);
  const methods = Object.keys(spec.paths[template]!);
  const method = r.pick(methods);
  const operation = spec.paths[template]![method]!;
  let path = template.replace(/\{([^}]+)\}/g, (_, name: string) => pathValue(name, r, known));
  const query = new URLSearchParams();
  for (const parameter of operation.parameters ?? []) {
    if (parameter.in === "query" && r.chance(0.5)) {
      const value = valueFor(parameter.schema, spec, r);
      query.append(parameter.name, typeof value === "string" ? value : (JSON.stringify(value) ?? ""));
    }
  }
  if (r.chance(0.1)) query.append(hostileString(r).slice(0, 20) || "x", hostileString(r));
  const qs = query.toString();
  if (qs) path += `?${qs}`;
  const headers: Record<string, string> = {};
  if (r.chance(0.1))
    headers["if-match"] = r.pick([
      '"1.x"',
      "*",
      hostileString(r).replace(/[\r\n\u0000-\u001f\u0080-\uffff]/g, ""),
    ]);
  let body: string | undefined;
  if (method !== "get") {
    const schema = operation.requestBody?.content?.["application/json"]?.schema;
    if (r.chance(0.15)) body = rawBody(r);
    else if (schema || r.chance(0.3)) body = JSON.stringify(valueFor(schema, spec, r));
    if (body !== undefined) {
      headers["content-type"] = r.chance(0.85) ? "application/json" : r.pick(CONTENT_TYPES);
      if (headers["content-type"] === "") delete headers["content-type"];
    }
  }
  return { method: method.toUpperCase(), path, headers, body };
}

function redirectRequest(r: Random): FuzzRequest {
  const segments = Array.from({ length: 1 + r.int(3) }, () =>
    pathValue("code", r, { code: ["seed", "guarded"] }),
  );
  const headers: Record<string, string> = {};
  const headerValue = () =>
    hostileString(r)
      .replace(/[\r\n\u0000-\u001f\u0080-\uffff]/g, "?")
      .slice(0, 2000);
  if (r.chance(0.3)) headers["user-agent"] = headerValue();
  if (r.chance(0.3)) headers["accept-language"] = headerValue();
  if (r.chance(0.2)) headers["x-link-password"] = headerValue();
  if (r.chance(0.2)) headers["x-forwarded-for"] = headerValue();
  if (r.chance(0.1)) headers["x-request-id"] = headerValue();
  const method = r.pick(["GET", "GET", "HEAD", "POST"]);
  const request: FuzzRequest = {
    method,
    path: `/${segments.join("/")}${r.chance(0.3) ? `?${encode(hostileString(r))}=1` : ""}`,
    headers,
  };
  if (method === "POST") {
    headers["content-type"] = r.pick(["application/x-www-form-urlencoded", "text/plain", "application/json"]);
    request.body = r.chance(0.5) ? `password=${encode(hostileString(r))}` : rawBody(r);
  }
  return request;
}

forEachEngine("fuzz", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
    await s.api.post("/admin/v1/links", { code: "seed", target: "https://seed.example" });
    // A link the fuzzer does not know of: it must still redirect at the end.
    await s.api.post("/admin/v1/links", { code: SENTINEL, target: "https://sentinel.example" });
    await s.api.post("/admin/v1/links", {
      code: "guarded",
      target: "https://g.example",
      password: "pw-123456",
    });
  });
  after(() => s.close());

  it(`answers ${REQUESTS} malformed requests below 500 and stays up`, async (t) => {
    const seed = SEED + ["sqlite", "postgres", "mysql"].indexOf(engine);
    t.diagnostic(`seed ${seed} (replay: JMP_FUZZ_SEED=${SEED})`);
    const r = random(seed);
    const spec = (await s.anon.get("/admin/v1/openapi.json")).json as Spec;
    const configKeys = ((await s.api.get("/admin/v1/config")).json.data as { key: string }[])
      .map((item) => item.key)
      // The fuzzer must not move the API it is fuzzing (or lock itself out): route prefixes and the admin
      // password are left alone; every other key is fair game.
      .filter((key) => !key.startsWith("routes.") && key !== "api.admin_token");
    const known = {
      code: ["seed", "guarded", "seed/qr"],
      key: configKeys,
      tag: ["x"],
      name: ["fuzz"],
      id: ["key_x"],
    };
    const failures: string[] = [];
    let sent = 0;
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (sent < REQUESTS) {
        sent++;
        const request = r.chance(0.25) ? redirectRequest(r) : apiRequest(spec, r, known);
        const client = r.chance(0.85) ? s.api : s.anon;
        let status: number;
        try {
          const reply = await client.request(request.method, request.path, {
            headers: request.headers,
            ...(request.body === undefined ? {} : { body: request.body }),
          });
          status = reply.status;
          if (status >= 500 && failures.length < 20) {
            failures.push(
              `${status} ${request.method} ${request.path.slice(0, 200)} ${String(request.body).slice(0, 200)} → ${reply.text.slice(0, 200)}`,
            );
          }
        } catch (err) {
          // The client refused to build it (a header or URL fetch will not send): not the server's doing.
          const cause = (err as { cause?: { code?: string; name?: string } }).cause;
          if (cause?.code === "UND_ERR_INVALID_ARG" || cause?.name === "InvalidArgumentError") continue;
          if (err instanceof TypeError && !/fetch failed/.test(err.message)) continue;
          // Anything else — the connection dropped, or the answer broke the OpenAPI contract — is a finding.
          failures.push(
            `${request.method} ${request.path.slice(0, 200)} ${String(request.body).slice(0, 200)} → ${(err as Error).message.slice(0, 300)}`,
          );
          continue;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    t.diagnostic(
      `statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
    );
    assert.deepEqual(failures, [], `seed ${seed}`);
    assert.equal((await s.anon.get("/health/live")).status, 204, "still up");
    assert.equal((await s.anon.get(`/${SENTINEL}`)).status, 307, "still redirecting");
  });
});
