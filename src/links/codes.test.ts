import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkCode, generateCode, isValidCodeSyntax } from "./codes.js";

const RESERVED = ["admin", "health", "panel"];

describe("link codes", () => {
  it("accepts the documented charset up to 128 characters", () => {
    for (const code of ["a", "GitHub", "a_b-c.d", "docs/v2/intro", "x".repeat(128)]) {
      assert.deepEqual(checkCode(code, RESERVED), { ok: true }, code);
    }
  });

  it("rejects other characters, empty and over-long codes", () => {
    for (const code of ["", "a b", "a?b", "ü", "a\nb", "a%20", "x".repeat(129), "<script>"]) {
      const check = checkCode(code, RESERVED);
      assert.equal(check.ok, false, code);
      assert.equal(!check.ok && check.reserved, false);
    }
  });

  it("rejects dot segments that browsers would resolve away", () => {
    for (const code of [".", "..", "a/../b", "a/./b"])
      assert.equal(checkCode(code, RESERVED).ok, false, code);
    assert.equal(checkCode("a..b", RESERVED).ok, true);
  });

  it("rejects codes equal to or under a route prefix, and Admin API sub-route names", () => {
    for (const code of [
      "admin",
      "admin/x",
      "health",
      "panel/a/b",
      "robots.txt",
      "batch",
      "export",
      "import",
      "x/analytics",
      "x/qr",
    ]) {
      const check = checkCode(code, RESERVED);
      assert.equal(check.ok, false, code);
      assert.equal(!check.ok && check.reserved, true, code);
    }
    assert.equal(checkCode("administrator", RESERVED).ok, true);
    assert.equal(checkCode("Admin", RESERVED).ok, true, "codes are case-sensitive, so are prefixes");
  });

  it("generates alphanumeric codes of the requested length", () => {
    const codes = new Set(Array.from({ length: 200 }, () => generateCode(8)));
    assert.equal(codes.size, 200);
    for (const code of codes) assert.match(code, /^[A-Za-z0-9]{8}$/);
    assert.equal(isValidCodeSyntax(generateCode(6)), true);
  });
});
