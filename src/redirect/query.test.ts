import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withQuery, withUtm } from "./query.js";

describe("visitor query strings", () => {
  it("UTM passthrough keeps only safe utm_* parts, before the fragment", () => {
    assert.equal(
      withUtm("https://x.example/p#f", "utm_source=a&x=1&utm_medium=b"),
      "https://x.example/p?utm_source=a&utm_medium=b#f",
    );
    assert.equal(
      withUtm("https://x.example/p?q=1", "utm_term=%0d%0a"),
      "https://x.example/p?q=1&utm_term=%0d%0a",
    );
    assert.equal(
      withUtm("https://x.example/p", "utm_term=a b"),
      "https://x.example/p",
      "a raw space is dropped",
    );
  });

  it("forwarding keeps the target's parameters as stored, lets the visitor's win, and re-encodes them", () => {
    assert.equal(
      withQuery("https://x.example/p?a=b%20c&k=1#f", "k=2&n=%E2%9C%93"),
      "https://x.example/p?a=b%20c&k=2&n=%E2%9C%93#f",
    );
    assert.equal(withQuery("https://x.example/p", "a=1&a=2"), "https://x.example/p?a=1&a=2");
    assert.equal(withQuery("https://x.example/p?a=1", ""), "https://x.example/p?a=1");
    assert.equal(
      withQuery("https://x.example/p", "x=\r\nSet-Cookie: y"),
      "https://x.example/p?x=%0D%0ASet-Cookie%3A%20y",
    );
  });
});
