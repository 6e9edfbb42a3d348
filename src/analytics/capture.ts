/**
 * Detailed analytics on the redirect path (docs/analytics.md). A counted click of a recorded visit costs a few
 * array stores: references to strings Node already has (the code, the request URL, Referer, User-Agent, the
 * client address) and the time. No parsing, no database: every 200 ms, or at 2 000 events, the arrays go to the
 * analytics worker thread (event-worker.ts), which classifies, anonymises and writes them. Short hand-offs keep
 * the strings young, so they die in scavenges instead of reaching the old generation.
 *
 * Bounded: at most 100 000 events may wait (here and in the worker, unwritten); beyond that an event is dropped
 * and counted (`jmp_click_events_dropped_total`). A graceful stop hands everything over and waits for the
 * worker's last write; a killed process loses at most the last hand-off window and the worker's pending second.
 */
import type { IncomingMessage } from "node:http";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { Engine } from "../store/db.js";
import type { ReferrerStorage } from "./classify.js";
import type { AnalyticsStreamSettings } from "./stream.js";

/** What the redirect path checks before recording a click (from the analytics.* keys). */
export interface CapturePolicy {
  enabled: boolean;
  sampleRate: number;
  respectDnt: boolean;
  /** analytics.disable_track_param ("" = none) */
  optOutParam: string;
}

/** What the worker needs to turn a raw click into a stored event (from the analytics.* keys). */
export interface ClassifySettings {
  anonymizeIp: boolean;
  storeIp: boolean;
  geo: boolean;
  storeReferrer: ReferrerStorage;
  recordBots: boolean;
  ignoreIps: string[];
  /** analytics.unique_visitors */
  uniqueVisitors: boolean;
}

/** Raw clicks handed to the worker, as parallel arrays. */
export interface RawClicks {
  codes: string[];
  urls: string[];
  referrers: (string | undefined)[];
  agents: (string | undefined)[];
  ips: string[];
  times: Float64Array;
}

export type ToWorker =
  | { kind: "settings"; settings: ClassifySettings }
  | ({ kind: "events" } & RawClicks)
  | { kind: "flush"; id: number }
  | { kind: "drain" };

export type FromWorker =
  | { kind: "written"; events: number; stream: StreamStats | null }
  | { kind: "failed"; error: string }
  | { kind: "flushed"; id: number; ok: boolean }
  | { kind: "drained"; unwritten: number; unpublished: number };

export interface EventWorkerData {
  engine: Engine;
  location: string;
  /** JMP_GEOIP_DATABASE, or null */
  geoip: string | null;
  /** JMP_ANALYTICS_STREAM, or null */
  stream: AnalyticsStreamSettings | null;
}

/** The stream publisher's counts (cumulative), as the worker reports them. */
export interface StreamStats {
  published: number;
  failures: number;
  dropped: number;
  waiting: number;
}

const HAND_OFF_MS = 200;
const HAND_OFF_EVENTS = 2_000;
/** ~300 bytes an event (the strings it refers to): at most ~30 MB waiting. */
export const MAX_UNWRITTEN_EVENTS = 100_000;

/** What the redirect handler sees of the capture. */
export interface ClickRecorder {
  /** Read on every counted click: while false, recording costs one branch. */
  readonly on: boolean;
  record(code: string, req: IncomingMessage, address: string): void;
}

/** Where there is no worker to write events (an in-memory SQLite database is private to its connection). */
export const NO_RECORDING: ClickRecorder = { on: false, record() {} };

export class ClickCapture implements ClickRecorder {
  /** A worker that ends sooner than this after its start is not started again (see `exited`; tests lower it). */
  static restartAfterMs = 60_000;
  on = false;
  /** Set by the retention task when analytics.max_log_rows is reached with the `stop` action. */
  private full = false;
  private policy: CapturePolicy = { enabled: false, sampleRate: 1, respectDnt: true, optOutParam: "" };
  private optOutPattern: RegExp | null = null;
  private buffer = emptyBuffer();
  /** Events handed to the worker and not yet written. */
  private unwritten = 0;
  private timer: NodeJS.Timeout | undefined;
  private drained: ((unwritten: number) => void) | null = null;
  private readonly flushes = new Map<number, (ok: boolean) => void>();
  private nextFlush = 1;
  private stopped = false;
  private worker: Worker;
  /** False from the worker's exit until a new one is started. */
  private alive = false;
  private settings: ClassifySettings | null = null;
  /** When the worker was last started: one that dies soon after its start is not started again. */
  private startedAt = 0;
  readonly stats = {
    recorded: 0,
    written: 0,
    failedWrites: 0,
    dropped: { full: 0, worker: 0 },
    stream: null as StreamStats | null,
    restarts: 0,
  };

  private constructor(
    private readonly data: EventWorkerData,
    private readonly log: Logger,
  ) {
    this.worker = this.startWorker();
  }

  static start(data: EventWorkerData, log: Logger): ClickCapture {
    return new ClickCapture(data, log);
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL("./event-worker.js", import.meta.url), { workerData: this.data });
    this.startedAt = Date.now();
    this.alive = true;
    worker.on("message", (message: FromWorker) => this.answer(message));
    worker.on("error", (err) => this.log.error({ err }, "the analytics worker failed"));
    worker.on("exit", () => this.exited());
    worker.unref();
    if (this.settings) worker.postMessage({ kind: "settings", settings: this.settings } satisfies ToWorker);
    return worker;
  }

  /**
   * The worker ended. In `stop` that is expected. Otherwise the clicks it held are lost (counted as dropped) and
   * a new worker takes over — unless this one died within a minute of its start (a database it cannot open, a
   * GeoIP file it cannot read): then recording stays off until jmp restarts, rather than failing in a loop.
   */
  private exited(): void {
    this.alive = false;
    for (const done of this.flushes.values()) done(false);
    this.flushes.clear();
    if (this.stopped) return this.drained?.(this.unwritten + this.buffer.codes.length);
    this.stats.dropped.worker += this.unwritten + this.buffer.codes.length;
    this.unwritten = 0;
    this.buffer = emptyBuffer();
    if (Date.now() - this.startedAt < ClickCapture.restartAfterMs) {
      this.log.error(
        "the analytics worker stopped soon after its start: detailed recording is off until jmp restarts",
      );
      this.stopped = true;
      this.refresh();
      return;
    }
    this.log.error("the analytics worker stopped; starting a new one (the clicks it held are lost)");
    this.stats.restarts++;
    this.worker = this.startWorker();
  }

  /** Applies the analytics.* keys (at start and after every config change). */
  configure(policy: CapturePolicy, settings: ClassifySettings): void {
    this.policy = policy;
    this.settings = settings;
    this.optOutPattern =
      policy.optOutParam === "" ? null : new RegExp(`[?&]${escapeRegExp(policy.optOutParam)}(?:[=&#]|$)`);
    this.worker.postMessage({ kind: "settings", settings } satisfies ToWorker);
    this.refresh();
  }

  private refresh(): void {
    this.on = this.policy.enabled && this.policy.sampleRate > 0 && !this.full && !this.stopped;
  }

  /** analytics.max_log_rows with `stop`: pause recording until the stored events are below the limit again. */
  setFull(full: boolean): void {
    if (full === this.full) return;
    this.full = full;
    this.log.warn(
      full
        ? "analytics.max_log_rows reached: detailed recording paused (analytics.max_rows_action is stop)"
        : "detailed recording resumed: stored events are below analytics.max_log_rows",
    );
    this.refresh();
  }

  /** Hot path: one counted click, `on` already checked by the caller. */
  record(code: string, req: IncomingMessage, address: string): void {
    const { sampleRate, respectDnt } = this.policy;
    if (sampleRate < 1 && Math.random() >= sampleRate) return;
    // The four headers straight from the raw list: `req.headers` would build an object of all of them.
    let agent: string | undefined;
    let referrer: string | undefined;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      switch (name.length) {
        case 10:
          if (agent === undefined && sameName(name, "user-agent")) agent = raw[i + 1];
          break;
        case 7:
          if (referrer === undefined && sameName(name, "referer")) referrer = raw[i + 1];
          else if (respectDnt && raw[i + 1] === "1" && sameName(name, "sec-gpc")) return;
          break;
        case 3:
          if (respectDnt && raw[i + 1] === "1" && sameName(name, "dnt")) return;
          break;
      }
    }
    const url = req.url!;
    if (this.optOutPattern !== null && this.optOutPattern.test(url)) return;
    const buffer = this.buffer;
    const n = buffer.codes.length;
    if (this.unwritten + n >= MAX_UNWRITTEN_EVENTS) {
      this.stats.dropped.full++;
      return;
    }
    buffer.codes.push(code);
    buffer.urls.push(url);
    buffer.referrers.push(referrer);
    buffer.agents.push(agent);
    buffer.ips.push(address);
    buffer.times[n] = Date.now();
    this.stats.recorded++;
    if (n + 1 >= HAND_OFF_EVENTS) this.handOff();
  }

  start(): void {
    this.timer = setInterval(() => this.handOff(), HAND_OFF_MS);
    this.timer.unref();
  }

  /** Events recorded and not yet written (buffered here or in the worker). */
  get pending(): number {
    return this.unwritten + this.buffer.codes.length;
  }

  private handOff(): void {
    const buffer = this.buffer;
    const n = buffer.codes.length;
    if (n === 0) return;
    this.buffer = emptyBuffer();
    this.unwritten += n;
    const times = buffer.times.slice(0, n);
    this.worker.ref(); // unwritten events keep the process alive until written
    this.worker.postMessage({ kind: "events", ...buffer, times } satisfies ToWorker, [times.buffer]);
  }

  private answer(message: FromWorker): void {
    switch (message.kind) {
      case "written":
        this.unwritten -= message.events;
        this.stats.written += message.events;
        if (message.stream) this.stats.stream = message.stream;
        if (this.unwritten === 0) this.worker.unref();
        return;
      case "failed":
        this.stats.failedWrites++;
        if (!this.stopped) this.log.warn({ err: message.error }, "writing click events failed; will retry");
        return;
      case "flushed":
        this.flushes.get(message.id)?.(message.ok);
        this.flushes.delete(message.id);
        return;
      case "drained":
        if (message.unpublished > 0) {
          this.log.error(
            { events: message.unpublished },
            `${message.unpublished} click events were stored but not published to the stream`,
          );
        }
        this.drained?.(message.unwritten);
        return;
    }
  }

  /** Hands over what is buffered and has the worker write everything now; resolves with whether it could. */
  flush(): Promise<boolean> {
    if (!this.alive) return Promise.resolve(false);
    this.handOff();
    return new Promise((resolve) => {
      const id = this.nextFlush++;
      this.flushes.set(id, resolve);
      this.worker.ref();
      this.worker.postMessage({ kind: "flush", id } satisfies ToWorker);
    });
  }

  /**
   * Graceful stop: hands over what is buffered, lets the worker write everything, stops it. Resolves with the
   * number of events that could not be written (the database is down): they are lost.
   */
  async stop(): Promise<number> {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    this.refresh();
    if (!this.alive) return 0; // it died earlier: what it held was counted as dropped then
    this.handOff();
    const unwritten = await new Promise<number>((resolve) => {
      this.drained = resolve;
      this.worker.ref();
      this.worker.postMessage({ kind: "drain" } satisfies ToWorker);
    });
    await this.worker.terminate();
    if (unwritten > 0)
      this.log.error({ events: unwritten }, `${unwritten} click events could not be written`);
    return unwritten;
  }
}

/** A header name (as sent) against a lower-case one: compared as is first (browsers send one casing). */
function sameName(name: string, lower: string): boolean {
  return name === lower || name.toLowerCase() === lower;
}

function emptyBuffer(): RawClicks {
  return {
    codes: [],
    urls: [],
    referrers: [],
    agents: [],
    ips: [],
    times: new Float64Array(HAND_OFF_EVENTS),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
