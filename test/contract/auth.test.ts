/** Login, sessions, CSRF, bearer credentials and rate limits — the Shortlinker auth contract, on every engine. */
import assert from "node:assert/strict";
import { generateApiKey } from "../../src/auth/api-key-format.js";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { internalContext } from "../../src/audit/log.js";
import { Client, type Reply } from "../support/http.js";
import {
  ADMIN_PASSWORD,
  BOOTSTRAP_KEY,
  forEachEngine,
  startServer,
  type TestServer,
} from "../support/server.js";

const exec = promisify(execFile);

async function login(s: TestServer, client = new Client(s.url)) {
  const r = await client.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
  assert.equal(r.status, 200, r.text);
  return { client, reply: r };
}

forEachEngine("auth", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  describe("login", () => {
    it("sets the access, refresh and CSRF cookies with the documented attributes", async () => {
      const { client, reply } = await login(s);
      assert.deepEqual(reply.json, {
        code: 0,
        message: "Login successful",
        data: { message: "Login successful", expires_in: 900 },
      });
      const cookies = Object.fromEntries(client.lastSetCookies.map((c) => [c.name, c]));
      assert.deepEqual(Object.keys(cookies).sort(), ["csrf_token", "jmp_access", "jmp_refresh"]);
      const access = cookies.jmp_access!;
      assert.equal(access.attributes.path, "/");
      assert.equal(access.attributes.httponly, true);
      assert.equal(access.attributes.samesite, "Lax");
      assert.equal(access.attributes["max-age"], "900");
      assert.equal(access.attributes.secure, undefined, "plain HTTP from an untrusted peer: not Secure");
      const refresh = cookies.jmp_refresh!;
      assert.equal(refresh.attributes.path, "/admin/v1/auth");
      assert.equal(refresh.attributes.httponly, true);
      assert.equal(refresh.attributes["max-age"], String(7 * 86400));
      const csrf = cookies.csrf_token!;
      assert.equal(csrf.attributes.httponly, undefined, "scripts must read the CSRF cookie");
      assert.equal(csrf.attributes.samesite, "Lax");
      assert.match(csrf.value, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(!reply.text.includes(access.value), "the JWT is not in the body");
    });

    it("rejects a wrong password with 401/2000 and sets no cookie", async () => {
      const client = new Client(s.url);
      const r = await client.post("/admin/v1/auth/login", { password: "wrong password" });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 2000);
      assert.equal(client.lastSetCookies.length, 0);
    });
  });

  describe("cookie sessions and CSRF", () => {
    it("reads with the cookie alone", async () => {
      const { client } = await login(s);
      const r = await client.get("/admin/v1/links");
      assert.equal(r.status, 200);
      assert.equal((await client.get("/admin/v1/auth/verify")).json.data.message, "Token is valid");
    });

    it("refuses cookie writes without a matching X-CSRF-Token (403/2003) and accepts them with it", async () => {
      const { client } = await login(s);
      const body = { code: "csrf-ok", target: "https://csrf.example" };
      const missing = await client.post("/admin/v1/links", body);
      assert.equal(missing.status, 403);
      assert.equal(missing.json.code, 2003);
      const wrong = await client.post("/admin/v1/links", body, { "x-csrf-token": "x".repeat(43) });
      assert.equal(wrong.status, 403);
      const right = await client.post("/admin/v1/links", body, {
        "x-csrf-token": client.cookies.get("csrf_token")!,
      });
      assert.equal(right.status, 201);
      assert.equal((await s.api.get("/admin/v1/links/csrf-ok")).status, 200);
      assert.equal((await s.api.get("/admin/v1/links/csrf-ok")).json.data.target, "https://csrf.example");
    });

    it("refreshes with the refresh cookie (sliding) and rejects a missing or bad one", async () => {
      const { client } = await login(s);
      const refreshed = await client.post("/admin/v1/auth/refresh");
      assert.equal(refreshed.status, 200);
      assert.equal(refreshed.json.message, "Token refreshed");
      assert.deepEqual(client.lastSetCookies.map((c) => c.name).sort(), [
        "csrf_token",
        "jmp_access",
        "jmp_refresh",
      ]);
      const none = await new Client(s.url).post("/admin/v1/auth/refresh");
      assert.equal(none.status, 401);
      assert.equal(none.json.code, 2002);
      const access = client.cookies.get("jmp_access")!;
      const wrongType = await new Client(s.url, { cookie: `jmp_refresh=${access}` }).post(
        "/admin/v1/auth/refresh",
      );
      assert.equal(wrongType.status, 401, "an access token is not a refresh token");
    });

    it("logs out by expiring all three cookies", async () => {
      const { client } = await login(s);
      const r = await client.post("/admin/v1/auth/logout");
      assert.equal(r.status, 200);
      assert.equal(r.json.message, "Logout successful");
      for (const cookie of client.lastSetCookies) {
        assert.equal(cookie.value, "");
        assert.equal(cookie.attributes["max-age"], "0");
      }
      assert.equal((await client.get("/admin/v1/links")).status, 401);
    });
  });

  describe("bearer credentials", () => {
    it("accepts the access JWT as a bearer token, without CSRF", async () => {
      const { client } = await login(s);
      const jwt = client.cookies.get("jmp_access")!;
      const bearer = new Client(s.url, { authorization: `Bearer ${jwt}` });
      const r = await bearer.post("/admin/v1/links", { code: "bearer-jwt", target: "https://b.example" });
      assert.equal(r.status, 201);
    });

    it("accepts the bootstrap API key as a bearer token", async () => {
      const r = await new Client(s.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` }).get("/admin/v1/links");
      assert.equal(r.status, 200);
    });

    it("answers 401/1001 with WWW-Authenticate for missing, invalid or refresh-type credentials", async () => {
      const { client } = await login(s);
      const refresh = client.cookies.get("jmp_refresh")!;
      const attempts: Record<string, string>[] = [
        {},
        { authorization: "Bearer nope" },
        { authorization: `Bearer ${BOOTSTRAP_KEY}x` },
        { authorization: `Bearer ${refresh}` },
        { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` },
        { cookie: "jmp_access=garbage" },
      ];
      for (const headers of attempts) {
        const r = await new Client(s.url, headers).get("/admin/v1/links");
        assert.equal(r.status, 401, JSON.stringify(headers));
        assert.deepEqual(r.json, {
          code: 1001,
          message: "Unauthorized: Invalid or missing token",
          error: "unauthorized",
        });
        assert.equal(r.headers.get("www-authenticate"), "Bearer");
      }
    });

    it("never accepts credentials in the query string", async () => {
      const r = await s.anon.get(`/admin/v1/links?token=${BOOTSTRAP_KEY}&access_token=${BOOTSTRAP_KEY}`);
      assert.equal(r.status, 401);
    });

    it("stops accepting sessions when api.jwt_secret rotates", async () => {
      const { client } = await login(s);
      assert.equal((await client.get("/admin/v1/links")).status, 200);
      await s.app.config.set("api.jwt_secret", "f".repeat(64), internalContext("test"), Date.now());
      assert.equal((await client.get("/admin/v1/links")).status, 401);
    });
  });

  describe("logout everywhere", () => {
    it("ends every admin session (and not API keys); a new login works", async () => {
      const one = await login(s);
      const two = await login(s);
      assert.equal((await two.client.get("/admin/v1/links")).status, 200);
      const r = await one.client.post("/admin/v1/auth/logout-everywhere", undefined, {
        "x-csrf-token": one.client.cookies.get("csrf_token")!,
      });
      assert.equal(r.status, 200, r.text);
      assert.equal((await two.client.get("/admin/v1/links")).status, 401);
      assert.equal((await two.client.post("/admin/v1/auth/refresh")).status, 401, "refresh tokens end too");
      assert.equal((await s.api.get("/admin/v1/links")).status, 200, "the bootstrap key is unaffected");
      const again = await login(s);
      assert.equal((await again.client.get("/admin/v1/links")).status, 200);
      const history = await s.api.get("/admin/v1/config/api.sessions_not_before/history");
      assert.equal(history.json.data[0].changed_by, "session");
    });
  });

  describe("scripts written for Shortlinker", () => {
    it("the documented curl flow works as written (login → cookies.txt → CSRF write)", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "jmp-curl-"));
      const base = s.url.replace("127.0.0.1", "localhost");
      const script = `
set -euo pipefail
cd ${JSON.stringify(dir)}
curl -sS -X POST \\
  -H "Content-Type: application/json" \\
  -c cookies.txt \\
  -d '{"password":"${ADMIN_PASSWORD}"}' \\
  ${base}/admin/v1/auth/login
echo
CSRF_TOKEN=$(awk '$6=="csrf_token"{print $7}' cookies.txt | tail -n 1)
curl -sS -b cookies.txt "${base}/admin/v1/links?page=1&page_size=20"
echo
curl -sS -X POST \\
  -b cookies.txt \\
  -H "X-CSRF-Token: \${CSRF_TOKEN}" \\
  -H "Content-Type: application/json" \\
  -d '{"code":"curl-flow","target":"https://github.com"}' \\
  ${base}/admin/v1/links
echo
curl -sS -X POST -b cookies.txt -c cookies.txt ${base}/admin/v1/auth/refresh
echo
# Refresh rotates the CSRF token: read it again.
CSRF_TOKEN=$(awk '$6=="csrf_token"{print $7}' cookies.txt | tail -n 1)
curl -sS -X DELETE -b cookies.txt -H "X-CSRF-Token: \${CSRF_TOKEN}" ${base}/admin/v1/links/curl-flow
`;
      const { stdout } = await exec("bash", ["-c", script]);
      const lines = stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      assert.deepEqual(
        lines.map((l) => l.code),
        [0, 0, 0, 0, 0],
        stdout,
      );
      assert.equal(lines[2].message, "Link created");
    });

    it("a Python requests.Session script logs in, lists and creates links over plain http", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "jmp-py-"));
      const file = path.join(dir, "client.py");
      writeFileSync(
        file,
        `
import json, sys, requests
base = sys.argv[1]
session = requests.Session()
resp = session.post(f"{base}/admin/v1/auth/login", json={"password": sys.argv[2]}, timeout=10)
resp.raise_for_status()
listed = session.get(f"{base}/admin/v1/links", params={"page": 1, "page_size": 20}, timeout=10)
listed.raise_for_status()
created = session.post(
    f"{base}/admin/v1/links",
    json={"code": "from-python", "target": "https://python.example"},
    headers={"X-CSRF-Token": session.cookies.get("csrf_token")},
    timeout=10,
)
created.raise_for_status()
print(json.dumps({"list": listed.json()["code"], "create": created.json()["data"]["code"]}))
`,
      );
      for (const host of ["127.0.0.1", "localhost"]) {
        const base = s.url.replace("127.0.0.1", host);
        await s.api.delete("/admin/v1/links/from-python");
        const { stdout } = await exec("python3", [file, base, ADMIN_PASSWORD]);
        assert.deepEqual(JSON.parse(stdout), { list: 0, create: "from-python" }, host);
      }
    });
  });

  it("rate-limits failed logins per client IP with 429/2004 and Retry-After", async () => {
    const client = new Client(s.url);
    let limited: Reply | undefined;
    for (let i = 0; i < 8; i++) {
      assert.equal(
        (await client.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD })).status,
        200,
        "successes are never limited",
      );
    }
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await client.post("/admin/v1/auth/login", { password: "wrong password" });
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, "expected a 429 within 12 attempts");
    assert.equal(limited.json.code, 2004);
    assert.match(limited.json.message, /^Too many requests, retry in \d+s$/);
    assert.match(limited.headers.get("retry-after") ?? "", /^\d+$/);
    // While limited, the right password is refused unchecked: a correct guess must look like a wrong one.
    const right = await client.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    assert.equal(right.status, 429);
  });
});

describe("guesses sent at once", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite", { JMP_TRUSTED_PROXIES: "127.0.0.1/32, ::1" });
  });
  after(() => s.close());

  const tally = (statuses: number[]) =>
    statuses.reduce<Record<number, number>>((t, status) => ({ ...t, [status]: (t[status] ?? 0) + 1 }), {});

  it("100 parallel login guesses: at most the burst of 5 is checked, the rest are 429", async () => {
    const guesser = new Client(s.url, { "x-forwarded-for": "203.0.113.20" });
    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        guesser.post("/admin/v1/auth/login", { password: `guess-${i}` }).then((r) => r.status),
      ),
    );
    const counts = tally(statuses);
    assert.ok((counts[401] ?? 0) <= 5, JSON.stringify(counts));
    assert.equal((counts[401] ?? 0) + (counts[429] ?? 0), 100, JSON.stringify(counts));
  });

  it("100 parallel wrong bearer tokens: at most the burst of 20 get 401, and a valid key still works", async () => {
    const statuses = await Promise.all(
      Array.from({ length: 100 }, () =>
        new Client(s.url, { "x-forwarded-for": "203.0.113.21", authorization: `Bearer ${generateApiKey()}` })
          .get("/admin/v1/links")
          .then((r) => r.status),
      ),
    );
    const counts = tally(statuses);
    assert.ok((counts[401] ?? 0) <= 20, JSON.stringify(counts));
    assert.equal((counts[401] ?? 0) + (counts[429] ?? 0), 100, JSON.stringify(counts));
    const valid = new Client(s.url, {
      "x-forwarded-for": "203.0.113.21",
      authorization: `Bearer ${BOOTSTRAP_KEY}`,
    });
    assert.equal((await valid.get("/admin/v1/links")).status, 200);
  });

  it("100 parallel wrong link passwords: at most 5 are checked", async () => {
    await s.api.post("/admin/v1/links", {
      code: "guarded",
      target: "https://g.example",
      password: "right-pass",
    });
    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        new Client(s.url, { "x-forwarded-for": "203.0.113.22", "x-link-password": `wrong-${i}` })
          .get("/guarded")
          .then((r) => r.status),
      ),
    );
    const counts = tally(statuses);
    assert.ok((counts[401] ?? 0) <= 5, JSON.stringify(counts));
    assert.equal((counts[401] ?? 0) + (counts[429] ?? 0), 100, JSON.stringify(counts));
  });
});

describe("auth behind a trusted proxy", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite", { JMP_TRUSTED_PROXIES: "127.0.0.1/32, ::1" });
  });
  after(() => s.close());

  it("marks cookies Secure when the proxy says the request was HTTPS", async () => {
    const client = new Client(s.url, { "x-forwarded-proto": "https" });
    await login(s, client);
    for (const cookie of client.lastSetCookies) assert.equal(cookie.attributes.secure, true, cookie.name);
  });

  it("rate-limits per forwarded client IP, so one client cannot lock out another", async () => {
    const attacker = new Client(s.url, { "x-forwarded-for": "203.0.113.7" });
    let status = 0;
    for (let i = 0; i < 12 && status !== 429; i++) {
      status = (await attacker.post("/admin/v1/auth/login", { password: "wrong password" })).status;
    }
    assert.equal(status, 429);
    const other = new Client(s.url, { "x-forwarded-for": "198.51.100.9" });
    assert.equal((await other.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD })).status, 200);
  });
});

describe("auth without a trusted proxy", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite");
  });
  after(() => s.close());

  it("ignores X-Forwarded-Proto from an untrusted peer", async () => {
    const client = new Client(s.url, { "x-forwarded-proto": "https" });
    await login(s, client);
    for (const cookie of client.lastSetCookies)
      assert.equal(cookie.attributes.secure, undefined, cookie.name);
  });

  it("marks cookies Secure when api.cookie_secure forces it", async () => {
    await s.app.config.set("api.cookie_secure", "true", internalContext("test"), Date.now());
    const { client } = await login(s);
    for (const cookie of client.lastSetCookies) assert.equal(cookie.attributes.secure, true, cookie.name);
  });
});
