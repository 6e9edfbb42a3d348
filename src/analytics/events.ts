/**
 * Turns raw clicks (capture.ts) into stored events and their hourly breakdowns, in the analytics worker: the
 * User-Agent classified, the country and city looked up on the full address, then the address anonymised (or
 * dropped), the source derived, the referrer kept as configured. Visitors choose some of these values (a
 * `utm_source`, a Referer), so each breakdown keeps at most MAX_VALUES_PER_HOUR distinct values per hour and
 * instance; the rest count as `(other)` there (the events keep the real value).
 */
import { createHash } from "node:crypto";
import { DAY_MS, dayOf, hourOf } from "../store/clicks.js";
import type { DetailedCount, Dimension, DimRow, EventBatch, EventRow } from "../store/click-events-store.js";
import type { ClassifySettings, RawClicks } from "./capture.js";
import { anonymizeIp, ignoredAddresses, sourceOf, storedReferrer, UserAgentClassifier } from "./classify.js";
import type { LocationLookup } from "./geoip.js";

export const MAX_VALUES_PER_HOUR = 500;
export const OTHER_VALUE = "(other)";

/** The breakdowns, in the order a click is counted in them. */
const DIMENSIONS: readonly Dimension[] = ["source", "geo", "browser", "os", "device"];

/** One hour's breakdowns: per dimension, clicks by value as [humans, bots]. */
type HourDims = Map<string, [number, number]>[];

export class EventAggregator {
  private settings: ClassifySettings = {
    anonymizeIp: true,
    storeIp: true,
    geo: false,
    storeReferrer: "full",
    recordBots: true,
    ignoreIps: [],
    uniqueVisitors: false,
  };
  /** The salt of each UTC day (analytics.unique_visitors), given by the worker before the day's clicks. */
  private readonly salts = new Map<number, string>();
  private ignored: (ip: string) => boolean = () => false;
  private readonly agents = new UserAgentClassifier();
  private events: EventRow[] = [];
  private dims = new Map<number, HourDims>();
  private counts = new Map<number, DetailedCount>();
  /** Raw clicks taken in since the last `take` (recorded or skipped): what the capture is told was handled. */
  private handled = 0;
  /** Distinct values per hour and dimension seen by this instance (the cardinality cap). */
  private readonly seen = new Map<number, Set<string>[]>();

  constructor(private readonly locate: LocationLookup | null) {}

  configure(settings: ClassifySettings): void {
    this.settings = settings;
    this.ignored = ignoredAddresses(settings.ignoreIps);
  }

  /** The UTC days of these clicks whose salt is not known yet (the worker fetches them, then calls `setSalt`). */
  missingSalts(raw: RawClicks): number[] {
    if (!this.settings.uniqueVisitors) return [];
    const missing = new Set<number>();
    for (const time of raw.times.subarray(0, raw.codes.length)) {
      const day = dayOf(time);
      if (!this.salts.has(day)) missing.add(day);
    }
    return [...missing];
  }

  setSalt(day: number, salt: string): void {
    this.salts.set(day, salt);
    for (const known of this.salts.keys()) if (known < day - 2 * DAY_MS) this.salts.delete(known);
  }

  add(raw: RawClicks): void {
    const { settings } = this;
    for (let i = 0; i < raw.codes.length; i++) {
      this.handled++;
      const ip = raw.ips[i]!;
      if (this.ignored(ip)) continue;
      const agent = this.agents.classify(raw.agents[i]);
      if (agent.bot && !settings.recordBots) continue;
      const place = settings.geo && this.locate ? this.locate(ip) : undefined;
      const referrer = raw.referrers[i];
      const time = raw.times[i]!;
      const event: EventRow = {
        code: raw.codes[i]!,
        clicked_at: time,
        hour: hourOf(time),
        referrer: storedReferrer(referrer, settings.storeReferrer),
        source: sourceOf(raw.urls[i]!, referrer),
        browser: agent.browser,
        os: agent.os,
        device: agent.device,
        is_bot: agent.bot ? 1 : 0,
        country: place?.country.slice(0, 2) ?? null,
        city: place?.city?.slice(0, 128) ?? null,
        ip: !settings.storeIp ? null : settings.anonymizeIp ? anonymizeIp(ip) : ip.slice(0, 45),
        visitor: settings.uniqueVisitors ? this.visitor(time, ip, raw.agents[i]) : null,
      };
      this.events.push(event);
      this.count(event);
    }
  }

  /** 16 hex of SHA-256(the day's salt, address, User-Agent); null when the day's salt is missing. */
  private visitor(time: number, ip: string, agent: string | undefined): string | null {
    const salt = this.salts.get(dayOf(time));
    if (salt === undefined) return null;
    return createHash("sha256")
      .update(`${salt}\n${ip}\n${agent ?? ""}`)
      .digest("hex")
      .slice(0, 16);
  }

  private count(event: EventRow): void {
    const hour = event.hour;
    const bot = event.is_bot;
    let dims = this.dims.get(hour);
    if (dims === undefined) this.dims.set(hour, (dims = DIMENSIONS.map(() => new Map())));
    this.dim(hour, dims, 0, event.source, bot);
    if (event.country !== null) {
      this.dim(hour, dims, 1, event.city === null ? event.country : `${event.country}/${event.city}`, bot);
    }
    if (event.browser !== null) this.dim(hour, dims, 2, event.browser, bot);
    if (event.os !== null) this.dim(hour, dims, 3, event.os, bot);
    this.dim(hour, dims, 4, event.device, bot);
    let count = this.counts.get(hour);
    if (count === undefined) this.counts.set(hour, (count = { hour, bots: 0, detailed: 0 }));
    count.detailed++;
    count.bots += bot;
  }

  private dim(hour: number, dims: HourDims, index: number, value: string, bot: number): void {
    const values = dims[index]!;
    let clicks = values.get(value);
    if (clicks === undefined) {
      const key = this.capped(hour, index, value);
      clicks = values.get(key);
      if (clicks === undefined) values.set(key, (clicks = [0, 0]));
    }
    clicks[bot]!++;
  }

  /** The value as this hour's breakdown keeps it: itself, or `(other)` past MAX_VALUES_PER_HOUR. */
  private capped(hour: number, index: number, value: string): string {
    let seen = this.seen.get(hour);
    if (seen === undefined) {
      // A new hour: forget the hours long past (a late click of the previous hour is still capped).
      for (const past of this.seen.keys()) if (past < hour - 3_600_000) this.seen.delete(past);
      this.seen.set(hour, (seen = DIMENSIONS.map(() => new Set())));
    }
    const values = seen[index]!;
    if (values.has(value)) return value;
    if (values.size >= MAX_VALUES_PER_HOUR) return OTHER_VALUE;
    values.add(value);
    return value;
  }

  get size(): number {
    return this.handled;
  }

  /** Everything gathered since the last take, and how many raw clicks it stands for. */
  take(): { batch: EventBatch; handled: number } {
    const dims: DimRow[] = [];
    for (const [hour, byDimension] of this.dims) {
      byDimension.forEach((values, index) => {
        for (const [value, clicks] of values) {
          for (const bot of [0, 1]) {
            if (clicks[bot]! > 0)
              dims.push({ hour, dim: DIMENSIONS[index]!, value, bot, clicks: clicks[bot]! });
          }
        }
      });
    }
    const taken = {
      batch: { events: this.events, dims, counts: [...this.counts.values()] },
      handled: this.handled,
    };
    this.events = [];
    this.dims = new Map();
    this.counts = new Map();
    this.handled = 0;
    return taken;
  }

  /** Puts a batch whose write failed back in front (it is retried with the next write). */
  putBack(taken: { batch: EventBatch; handled: number }): void {
    const newer = this.take();
    this.events = [...taken.batch.events, ...newer.batch.events];
    for (const row of [...taken.batch.dims, ...newer.batch.dims]) {
      let dims = this.dims.get(row.hour);
      if (dims === undefined) this.dims.set(row.hour, (dims = DIMENSIONS.map(() => new Map())));
      const values = dims[DIMENSIONS.indexOf(row.dim)]!;
      let clicks = values.get(row.value);
      if (clicks === undefined) values.set(row.value, (clicks = [0, 0]));
      clicks[row.bot]! += row.clicks;
    }
    for (const count of [...taken.batch.counts, ...newer.batch.counts]) {
      const existing = this.counts.get(count.hour);
      if (existing === undefined) this.counts.set(count.hour, { ...count });
      else {
        existing.bots += count.bots;
        existing.detailed += count.detailed;
      }
    }
    this.handled = taken.handled + newer.handled;
  }
}
