/**
 * The redirect path's speed beside admin traffic: every request, response and socket keeps one V8 hidden class
 * (map), whichever path served it. When the Admin API gave these objects a property the redirect path never
 * sets, Node's HTTP internals met two maps, V8 deoptimised them, and a redirect cost more for the process's life
 * once one admin request had gone through (docs/performance.md, ninth round). The maps are compared with V8's
 * own `%HaveSameMap`, so the test fails on any such property, whatever adds it.
 */
import assert from "node:assert/strict";
import { Agent, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { BOOTSTRAP_KEY, startServer, type TestServer } from "../support/server.js";

setFlagsFromString("--allow-natives-syntax");
// Compiled after the flag is set, so the parser accepts the intrinsic.
const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

interface Seen {
  name: string;
  req: IncomingMessage;
  res: ServerResponse;
}

/** One request on `agent`'s connection; answers the status once the whole body has arrived. */
function send(url: string, agent: Agent, method: string, path: string, body?: unknown): Promise<number> {
  const { hostname, port } = new URL(url);
  const headers: Record<string, string> = { authorization: `Bearer ${BOOTSTRAP_KEY}` };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

describe("hidden classes of the HTTP objects", () => {
  let s: TestServer;
  const seen: Seen[] = [];
  let label = "";

  before(async () => {
    s = await startServer("sqlite");
    await s.api.post("/admin/v1/links", { code: "shape", target: "https://example.com/a" });
    s.app.http.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ name: label, req, res });
    });
  });
  after(() => s.close());

  it("are the same for redirects, admin reads and writes, errors and health checks", async () => {
    // Each kind on its own connection, so that the sockets can be compared too.
    const redirects = new Agent({ keepAlive: true, maxSockets: 1 });
    const admin = new Agent({ keepAlive: true, maxSockets: 1 });
    const exchanges: [string, Agent, string, string, unknown?][] = [
      ["redirect", redirects, "GET", "/shape"],
      ["redirect miss", redirects, "GET", "/no-such-link"],
      ["redirect HEAD", redirects, "HEAD", "/shape"],
      ["admin read", admin, "GET", "/admin/v1/links/shape"],
      [
        "admin write (200 with code())",
        admin,
        "PUT",
        "/admin/v1/links/shape",
        { target: "https://example.com/b" },
      ],
      [
        "admin create (201)",
        admin,
        "POST",
        "/admin/v1/links",
        { code: "shape2", target: "https://example.com/c" },
      ],
      ["admin error (404)", admin, "GET", "/admin/v1/links/missing"],
      ["admin bad JSON body (400)", admin, "PUT", "/admin/v1/links/shape", "not an object"],
      ["health", admin, "GET", "/health/live"],
      ["redirect after admin", redirects, "GET", "/shape"],
    ];
    const statuses: number[] = [];
    for (const [name, agent, method, path, body] of exchanges) {
      label = name;
      statuses.push(await send(s.url, agent, method, path, body));
    }
    assert.deepEqual(statuses, [307, 404, 307, 200, 200, 201, 404, 400, 204, 307]);
    // Let every listener that runs after the answer (Fastify's onResponse, the socket's detach) finish.
    await sleep(50);

    assert.equal(seen.length, exchanges.length);
    const first = seen[0]!;
    for (const other of seen.slice(1)) {
      assert.ok(haveSameMap(first.req, other.req), `the request of "${other.name}"`);
      assert.ok(haveSameMap(first.res, other.res), `the response of "${other.name}"`);
    }
    const redirectSocket = first.req.socket as Socket;
    const adminSocket = seen.find((x) => x.name === "admin read")!.req.socket as Socket;
    assert.notEqual(redirectSocket, adminSocket);
    assert.ok(haveSameMap(redirectSocket, adminSocket), "the sockets");
    redirects.destroy();
    admin.destroy();
  });
});
