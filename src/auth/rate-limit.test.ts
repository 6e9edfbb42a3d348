import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateLimiter } from "./rate-limit.js";

describe("RateLimiter", () => {
  it("refills a bucket at its rate, up to its burst", () => {
    let now = 0;
    const limiter = new RateLimiter(1, 2, () => now);
    assert.equal(limiter.take("ip").allowed, true);
    assert.equal(limiter.take("ip").allowed, true);
    assert.deepEqual(limiter.take("ip"), { allowed: false, retryAfterSeconds: 1 });
    now = 1_000;
    assert.equal(limiter.take("ip").allowed, true);
    assert.equal(limiter.take("ip").allowed, false);
  });

  it("remembers at most 50 000 addresses, forgetting the least recently seen", () => {
    const limiter = new RateLimiter(0, 1, () => 0);
    assert.equal(limiter.take("first").allowed, true);
    for (let i = 0; i < 49_999; i++) limiter.take(`other-${i}`);
    assert.equal(limiter.take("first").allowed, false, "still remembered with 50 000 addresses held");
    for (let i = 0; i < 50_000; i++) limiter.take(`later-${i}`);
    assert.equal(limiter.take("first").allowed, true, "forgotten once 50 000 others came after it");
  });
});
