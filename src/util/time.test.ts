import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExpiryError, parseDuration, parseRfc3339, resolveExpiry } from "./time.js";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

describe("expiry parsing", () => {
  it("reads relative durations with every unit", () => {
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("90sec"), 90_000);
    assert.equal(parseDuration("2m"), 120_000);
    assert.equal(parseDuration("2min"), 120_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("1d2h30m"), 86_400_000 + 7_200_000 + 1_800_000);
    assert.equal(parseDuration("2w"), 14 * 86_400_000);
    assert.equal(parseDuration("1M"), 30 * 86_400_000);
    assert.equal(parseDuration("3months"), 90 * 86_400_000);
    assert.equal(parseDuration("1y"), 365 * 86_400_000);
    assert.equal(parseDuration("2days"), 2 * 86_400_000);
  });

  it("keeps capital M (months) distinct from m (minutes)", () => {
    assert.equal(parseDuration("1M"), 30 * 86_400_000);
    assert.equal(parseDuration("1m"), 60_000);
  });

  it("rejects unknown units and malformed durations", () => {
    for (const bad of ["1x", "d", "1", "1d 2h", "-1d", "1.5h", "1dd2"])
      assert.equal(parseDuration(bad), null, bad);
  });

  it("reads strict RFC 3339 with offsets and fractions", () => {
    assert.equal(parseRfc3339("2026-01-15T12:00:00Z"), NOW);
    assert.equal(parseRfc3339("2026-01-15T14:00:00+02:00"), NOW);
    assert.equal(parseRfc3339("2026-01-15T12:00:00.250Z"), NOW + 250);
    assert.equal(parseRfc3339("2026-01-15t12:00:00z"), NOW);
  });

  it("rejects impossible calendar dates instead of rolling them over", () => {
    for (const bad of [
      "2026-02-30T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-01-01T24:00:00Z",
      "2026-01-01",
      "2026-01-01T00:00:00",
    ]) {
      assert.equal(parseRfc3339(bad), null, bad);
    }
    assert.notEqual(parseRfc3339("2024-02-29T00:00:00Z"), null);
    assert.equal(parseRfc3339("2025-02-29T00:00:00Z"), null);
  });

  it("resolves input to epoch ms; empty means no expiry; past dates are allowed", () => {
    assert.equal(resolveExpiry("", NOW), null);
    assert.equal(resolveExpiry("  ", NOW), null);
    assert.equal(resolveExpiry("7d", NOW), NOW + 7 * 86_400_000);
    assert.equal(resolveExpiry("2020-01-01T00:00:00Z", NOW), Date.UTC(2020, 0, 1));
  });

  it("rejects zero durations, garbage and out-of-range values", () => {
    for (const bad of ["0d", "0s0m", "tomorrow", "99999999999y", "10000-01-01T00:00:00Z"]) {
      assert.throws(() => resolveExpiry(bad, NOW), ExpiryError, bad);
    }
  });
});
