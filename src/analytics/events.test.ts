import assert from "node:assert/strict";
import { it } from "node:test";
import type { RawClicks } from "./capture.js";
import { EventAggregator, MAX_VALUES_PER_HOUR, OTHER_VALUE } from "./events.js";

const HOUR = 3_600_000;

function raw(n: number, at: (i: number) => number, url: (i: number) => string): RawClicks {
  return {
    codes: Array.from({ length: n }, () => "c"),
    urls: Array.from({ length: n }, (_, i) => url(i)),
    referrers: Array.from({ length: n }, () => undefined),
    agents: Array.from({ length: n }, () => "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36"),
    ips: Array.from({ length: n }, () => "203.0.113.9"),
    times: Float64Array.from({ length: n }, (_, i) => at(i)),
  };
}

it("aggregates breakdowns per hour and caps the distinct values a visitor can invent", () => {
  const events = new EventAggregator(null);
  const hour = 100 * HOUR;
  events.add(
    raw(
      MAX_VALUES_PER_HOUR + 20,
      () => hour + 5,
      (i) => `/c?utm_source=s${i}`,
    ),
  );
  const { batch, handled } = events.take();
  assert.equal(handled, MAX_VALUES_PER_HOUR + 20);
  assert.equal(batch.events.length, MAX_VALUES_PER_HOUR + 20, "events keep every real value");
  const sources = batch.dims.filter((d) => d.dim === "source");
  assert.equal(sources.length, MAX_VALUES_PER_HOUR + 1);
  assert.equal(sources.find((d) => d.value === OTHER_VALUE)?.clicks, 20);
  assert.deepEqual(batch.counts, [{ hour, bots: 0, detailed: MAX_VALUES_PER_HOUR + 20 }]);
  // The next hour starts a fresh set of values.
  events.add(
    raw(
      1,
      () => hour + HOUR,
      () => "/c?utm_source=late",
    ),
  );
  assert.ok(events.take().batch.dims.some((d) => d.value === "late"));
});

it("a failed write is put back in front and merged with what came meanwhile", () => {
  const events = new EventAggregator(null);
  events.add(
    raw(
      2,
      () => HOUR,
      () => "/c",
    ),
  );
  const taken = events.take();
  events.add(
    raw(
      3,
      () => HOUR,
      () => "/c",
    ),
  );
  events.putBack(taken);
  const merged = events.take();
  assert.equal(merged.handled, 5);
  assert.equal(merged.batch.events.length, 5);
  assert.equal(merged.batch.dims.find((d) => d.dim === "device")?.clicks, 5);
  assert.deepEqual(merged.batch.counts, [{ hour: HOUR, bots: 0, detailed: 5 }]);
});

it("ignored addresses and, when asked, bots are handled but not recorded", () => {
  const events = new EventAggregator(null);
  events.configure({
    anonymizeIp: true,
    storeIp: true,
    geo: false,
    storeReferrer: "full",
    recordBots: false,
    ignoreIps: ["203.0.113.0/24"],
    uniqueVisitors: false,
  });
  events.add(
    raw(
      3,
      () => HOUR,
      () => "/c",
    ),
  );
  const { batch, handled } = events.take();
  assert.equal(handled, 3);
  assert.equal(batch.events.length, 0);
});
