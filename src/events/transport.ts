/**
 * Carries change events between instances.
 *
 * The database table `changes` is the log: every event is inserted there, and every instance polls it. Redis
 * (when `JMP_REDIS_URL` is set) is only a doorbell: a publish tells the other instances to poll now, so they
 * apply a change within milliseconds; without Redis, or while it is down, they poll every 250 ms. Either way a
 * change is honoured everywhere within 1 s, and a lost Redis message costs latency, never correctness.
 *
 * Events are idempotent (drop a cached code, re-read config). Where ids can commit out of order (PostgreSQL,
 * MariaDB), the poller also looks behind its cursor over a short trailing window, so a row whose id committed
 * late is still seen; on SQLite ids commit in order and the cursor alone suffices.
 */
import { createRequire } from "node:module";
import type * as IoRedis from "ioredis";
import type { Logger } from "pino";
import { FeedStats } from "../metrics/counters.js";
import type { ChangesStore } from "../store/changes-store.js";
import type { Db } from "../store/db.js";
import type { ChangeEvent, ChangeFeed, ChangeTransport } from "./feed.js";

const FAST_POLL_MS = 250;
/**
 * With a working doorbell, polling is only a safety net, but one that alone keeps the 1 s promise: a doorbell
 * can fail silently (a frozen Redis keeps its connections open) for as long as it takes to notice.
 */
const SLOW_POLL_MS = 900;
/** The doorbell rings itself this often; no echo for `HEARTBEAT_TIMEOUT_MS` means Redis is hung. */
const HEARTBEAT_MS = 500;
const HEARTBEAT_TIMEOUT_MS = 1500;
/** Rows this recent are re-read on every poll (out-of-order commits, small clock skew). */
const REREAD_WINDOW_MS = 10_000;
/** Rows older than this are deleted (by whichever instance gets there). */
const RETENTION_MS = 3_600_000;
const CLEANUP_EVERY_MS = 60_000;
const CHANNEL = "jmp:changes";

export interface FeedStatus {
  transport: "redis" | "polling";
  healthy: boolean;
  error?: string;
}

/** Other processes of this instance (`JMP_WORKERS`), reached through the cluster primary. */
export interface SiblingDoorbell {
  ring(): void;
  onRing(listener: () => void): void;
}

export class ChangeLog implements ChangeTransport {
  private cursor = 0;
  private readonly applied = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | null = null;
  private lastCleanup = 0;
  private doorbell: RedisDoorbell | null = null;
  private siblings: SiblingDoorbell | null = null;
  private stopped = false;
  /** Changes from other instances applied here, and their delay (metrics). */
  readonly stats = new FeedStats();

  constructor(
    private readonly store: ChangesStore,
    private readonly feed: ChangeFeed,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  async send(event: ChangeEvent, origin: string): Promise<void> {
    await this.store.insert(origin, JSON.stringify(event), this.clock());
    this.announce(origin);
  }

  async writeIn(db: Db, event: ChangeEvent, origin: string): Promise<void> {
    await this.store.insert(origin, JSON.stringify(event), this.clock(), db);
  }

  announce(origin: string): void {
    this.doorbell?.ring(origin);
    this.siblings?.ring();
  }

  /** Workers of one instance ring each other directly (faster than Redis, and there without it). */
  useSiblings(siblings: SiblingDoorbell): void {
    this.siblings = siblings;
    siblings.onRing(() => {
      this.pollNow().catch((err) => this.log.warn({ err }, "polling the change log failed"));
    });
  }

  /** Starts following the log from now on (history is not replayed: a starting instance has empty caches). */
  async start(redisUrl: string | null): Promise<void> {
    this.cursor = await this.store.lastId();
    // Changes already in the log are already in what this instance reads from now on: not events for it (the
    // trailing re-read window would otherwise replay them, dropping the cache it has just warmed).
    const now = this.clock();
    for (const id of await this.store.idsSince(now - REREAD_WINDOW_MS)) this.applied.set(id, now);
    if (redisUrl) {
      this.doorbell = new RedisDoorbell(
        redisUrl,
        this.feed.origin,
        () => this.pollNow(),
        this.log,
        () =>
          // The doorbell went quiet: poll fast from now on, not after the slow timer already set.
          this.reschedule(),
      );
    }
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.doorbell?.close();
  }

  status(): FeedStatus {
    if (!this.doorbell) return { transport: "polling", healthy: true };
    if (this.doorbell.working) return { transport: "redis", healthy: true };
    return {
      transport: "polling",
      healthy: false,
      error: this.doorbell.connected
        ? "Redis does not answer (hung); polling the database instead"
        : "Redis is unreachable; polling the database instead",
    };
  }

  /** Polls at once (the doorbell rang); concurrent calls share one poll. */
  pollNow(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private reschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const interval = this.doorbell?.working ? SLOW_POLL_MS : FAST_POLL_MS;
    this.timer = setTimeout(() => {
      this.pollNow()
        .catch((err) => this.log.warn({ err }, "polling the change log failed"))
        .finally(() => this.schedule());
    }, interval);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const now = this.clock();
    const rows = await this.store.after(this.cursor);
    if (!this.store.idsCommitInOrder) {
      // Rows behind the cursor that committed late: their ids from the index, and the rows of the unseen ones.
      // Re-reading whole rows of the window on every poll cost ~40 reads of each change at 250 ms, and a full
      // scan of the log when the two conditions were one OR.
      const late = await this.store.idsSince(now - REREAD_WINDOW_MS, this.cursor);
      const unseen = late.filter((id) => !this.applied.has(id));
      if (unseen.length > 0) rows.unshift(...(await this.store.byIds(unseen)));
    }
    for (const row of rows) {
      const id = row.id;
      this.cursor = Math.max(this.cursor, id);
      if (this.applied.has(id)) continue;
      this.applied.set(id, now);
      if (row.origin === this.feed.origin) continue;
      try {
        this.feed.emit(JSON.parse(row.event) as ChangeEvent, "remote");
        this.stats.applied++;
        this.stats.lag.observe(Math.max(0, this.clock() - row.createdAt) / 1000);
      } catch (err) {
        this.log.warn({ err, id }, "ignoring an unreadable change event");
      }
    }
    // Entries go in as they are first seen, so the oldest come first: stop at the first one to keep.
    for (const [id, seenAt] of this.applied) {
      if (seenAt >= now - 2 * REREAD_WINDOW_MS) break;
      this.applied.delete(id);
    }
    if (now - this.lastCleanup > CLEANUP_EVERY_MS) {
      this.lastCleanup = now;
      await this.store.deleteOlderThan(now - RETENTION_MS);
    }
  }
}

/** ioredis loads only where `JMP_REDIS_URL` is set (~0.1 s of start-up otherwise spent for nothing). */
const requireDriver = createRequire(import.meta.url);

/**
 * Redis pub/sub used as a wake-up signal between instances. It also rings itself every `HEARTBEAT_MS`: a Redis
 * that is up but frozen keeps its connections open and says nothing, and only a missing echo shows it.
 */
class RedisDoorbell {
  private readonly publisher: IoRedis.Redis;
  private readonly subscriber: IoRedis.Redis;
  private readonly heartbeat: NodeJS.Timeout;
  private lastEcho = 0;
  connected = false;

  constructor(
    url: string,
    private readonly origin: string,
    onRing: () => Promise<void>,
    private readonly log: Logger,
    onQuiet: () => void,
  ) {
    // Fail fast while Redis is down or hung (polling covers it) and keep reconnecting in the background.
    const options = {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: () => 1000,
      commandTimeout: HEARTBEAT_TIMEOUT_MS,
    };
    const { Redis: Client } = requireDriver("ioredis") as typeof IoRedis;
    this.publisher = new Client(url, options);
    this.subscriber = new Client(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined });
    for (const client of [this.publisher, this.subscriber]) {
      client.on("error", () => {}); // state changes are reported below; errors repeat on every retry
    }
    const echo = `${origin}:heartbeat`;
    let wasWorking = false;
    this.subscriber.on("ready", () => {
      if (!this.connected) log.info("change feed: Redis connected");
      this.connected = true;
      this.lastEcho = Date.now(); // a fresh connection is given one heartbeat timeout to echo
      this.publisher.publish(CHANNEL, echo).catch(() => {});
      void onRing(); // catch up on anything missed while disconnected
    });
    this.subscriber.on("close", () => {
      if (this.connected) log.warn("change feed: Redis connection lost; polling the database every 250 ms");
      this.connected = false;
      onQuiet();
    });
    this.subscriber.on("message", (_channel, sender: string) => {
      if (sender === echo) {
        this.lastEcho = Date.now();
        return;
      }
      if (sender !== this.origin && !sender.endsWith(":heartbeat")) {
        onRing().catch((err) => log.warn({ err }, "polling the change log failed"));
      }
    });
    this.subscriber.subscribe(CHANNEL).catch(() => {});
    this.heartbeat = setInterval(() => {
      this.publisher.publish(CHANNEL, echo).catch(() => {});
      const working = this.working;
      if (wasWorking && !working) {
        log.warn("change feed: Redis does not answer; polling the database every 250 ms");
        onQuiet();
      }
      wasWorking = working;
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Connected, and its own heartbeat came back recently. */
  get working(): boolean {
    return this.connected && Date.now() - this.lastEcho < HEARTBEAT_TIMEOUT_MS;
  }

  ring(origin: string): void {
    this.publisher.publish(CHANNEL, origin).catch((err) => {
      this.log.debug({ err }, "change feed: Redis publish failed (other instances will poll)");
    });
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
