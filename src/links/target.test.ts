import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTarget, locationFor } from "./target.js";

describe("link targets", () => {
  it("accepts absolute http and https URLs and trims them", () => {
    assert.deepEqual(checkTarget("  https://example.com/a?b=c#d "), {
      ok: true,
      target: "https://example.com/a?b=c#d",
    });
    assert.equal(checkTarget("http://127.0.0.1:8080/").ok, true);
  });

  it("refuses other schemes, relative URLs and hostless URLs", () => {
    for (const bad of [
      "javascript:alert(1)",
      "data:text/html,hi",
      "ftp://x.org",
      "//example.com",
      "/local",
      "https://",
      "example.com",
      "",
    ]) {
      assert.equal(checkTarget(bad).ok, false, bad);
    }
  });

  it("refuses control characters the URL parser would silently drop", () => {
    for (const bad of [
      "https://exa\nmple.com",
      "https://example.com/\r\nSet-Cookie: x=1",
      "https://example.com/a\tb",
      "https://example.com/\u0000",
    ]) {
      assert.equal(checkTarget(bad).ok, false, JSON.stringify(bad));
    }
  });

  it("refuses targets longer than 8 KiB", () => {
    assert.equal(checkTarget(`https://example.com/${"a".repeat(10_000)}`).ok, false);
  });

  it("makes a header-safe Location, keeping plain ASCII targets as written", () => {
    assert.equal(locationFor("https://example.com/a?b=c"), "https://example.com/a?b=c");
    assert.equal(locationFor("https://bücher.example/ä ö"), "https://xn--bcher-kva.example/%C3%A4%20%C3%B6");
  });
});
