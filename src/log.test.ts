import assert from "node:assert/strict";
import { it } from "node:test";
import { redactLine } from "./log.js";

it("redacts credential-carrying members wherever they are, strings and arrays alike", () => {
  const line = JSON.stringify({
    msg: "x",
    req: {
      headers: { Authorization: "Bearer abc", cookie: "a=b", "X-CSRF-Token": "t", "x-link-password": "p" },
    },
    deep: { a: { b: { "set-cookie": ["jmp_access=1; HttpOnly", "jmp_refresh=2"] } } },
    body: { password: 'with "quotes" \\ and more' },
  });
  const out = redactLine(line);
  const parsed = JSON.parse(out);
  assert.deepEqual(parsed.req.headers, {
    Authorization: "[REDACTED]",
    cookie: "[REDACTED]",
    "X-CSRF-Token": "[REDACTED]",
    "x-link-password": "[REDACTED]",
  });
  assert.equal(parsed.deep.a.b["set-cookie"], "[REDACTED]");
  assert.equal(parsed.body.password, "[REDACTED]");
});

it("redacts credentials by value inside any string", () => {
  const token = `jmp_${"A1b2".repeat(12)}x`;
  const line = JSON.stringify({
    msg: `raw header: Bearer ${token}, cookie jmp_access=eyJhbGci.x.y; csrf_token=abc123`,
    other: `Basic dXNlcjpwYXNz and ${token}`,
  });
  const out = redactLine(line);
  assert.ok(
    !out.includes(token) &&
      !out.includes("eyJhbGci") &&
      !out.includes("abc123") &&
      !out.includes("dXNlcjpwYXNz"),
  );
  assert.doesNotThrow(() => JSON.parse(out));
  assert.match(out, /Bearer \[REDACTED\]/);
});

it("leaves ordinary lines alone", () => {
  const line = JSON.stringify({ msg: "request", path: "/admin/v1/links", tokens: 3, status: 200 });
  assert.equal(redactLine(line), line);
});
