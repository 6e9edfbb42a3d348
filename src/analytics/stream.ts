/**
 * Publishing each recorded click to a stream the operator already runs (`JMP_ANALYTICS_STREAM`), for their own
 * warehouse (ClickHouse, BigQuery, …): a Redis Stream (`XADD`, capped near STREAM_MAX_ENTRIES) or a NATS JetStream
 * subject. In the analytics worker, after the events are stored; at least once: a batch that could not be
 * published is kept (up to OUTBOX_MAX_EVENTS, then the oldest are dropped and counted) and sent again with the
 * next write. A retry may repeat part of a batch on Redis; on NATS each event carries a message id, which
 * JetStream's duplicate window (2 minutes by default) uses to drop repeats.
 */
import { randomBytes } from "node:crypto";
import type { EventRow } from "../store/click-events-store.js";
import { eventRecord } from "./event-record.js";

/** `JMP_ANALYTICS_STREAM` and `JMP_ANALYTICS_STREAM_NAME` (settings.ts). */
export interface AnalyticsStreamSettings {
  kind: "redis" | "nats";
  url: string;
  /** The Redis stream key, or the NATS JetStream subject. */
  name: string;
}

/** The Redis stream keeps about this many entries (`MAXLEN ~`): a consumer has that much slack. */
export const STREAM_MAX_ENTRIES = 1_000_000;
/** Events kept while the stream is unreachable; past it the oldest are dropped. */
export const OUTBOX_MAX_EVENTS = 100_000;
/** The JetStream stream jmp creates for its subject when none covers it: the subject, dots as `_`. */
export function natsStreamFor(subject: string): string {
  return subject.replace(/[^A-Za-z0-9_-]/g, "_");
}

export interface StreamPublisher {
  publish(events: readonly EventRow[]): Promise<void>;
  close(): Promise<void>;
}

export async function openPublisher(settings: AnalyticsStreamSettings): Promise<StreamPublisher> {
  return settings.kind === "redis" ? redisPublisher(settings) : natsPublisher(settings);
}

async function redisPublisher({ url, name }: AnalyticsStreamSettings): Promise<StreamPublisher> {
  const { Redis } = await import("ioredis");
  // No offline queue: while Redis is away a publish fails at once and the outbox keeps the events.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on("error", () => {}); // reported through failed publishes; ioredis reconnects by itself
  await redis.connect().catch(() => {});
  return {
    async publish(events) {
      const pipeline = redis.pipeline();
      for (const event of events) {
        const fields: string[] = [];
        for (const [field, value] of Object.entries(eventRecord(event))) {
          if (value !== null) fields.push(field, String(value));
        }
        pipeline.xadd(name, "MAXLEN", "~", STREAM_MAX_ENTRIES, "*", ...fields);
      }
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0]!;
    },
    async close() {
      redis.disconnect();
    },
  };
}

async function natsPublisher({ url, name }: AnalyticsStreamSettings): Promise<StreamPublisher> {
  const { connect } = await import("@nats-io/transport-node");
  const { jetstream, jetstreamManager } = await import("@nats-io/jetstream");
  type Connection = Awaited<ReturnType<typeof connect>>;
  // Connected on first use (a server that is down at start must not hold the worker up); once connected the
  // client reconnects by itself, and publishes fail meanwhile (the outbox keeps the events).
  let connection: Promise<Connection> | null = null;
  let publisher: ReturnType<typeof jetstream> | null = null;
  const ready = async () => {
    connection ??= connect({ servers: url, maxReconnectAttempts: -1, timeout: 5_000 });
    let open: Connection;
    try {
      open = await connection;
    } catch (err) {
      connection = null;
      throw err;
    }
    if (publisher === null) {
      const manager = await jetstreamManager(open);
      const existing = await manager.streams.find(name).catch(() => null);
      if (!existing) await manager.streams.add({ name: natsStreamFor(name), subjects: [name] });
      publisher = jetstream(open);
    }
    return publisher;
  };
  // Message ids: this worker's random prefix and a sequence, so a retried event is a duplicate JetStream drops.
  const prefix = randomBytes(6).toString("hex");
  let sequence = 0;
  const ids = new WeakMap<EventRow, string>();
  const encoder = new TextEncoder();
  return {
    async publish(events) {
      const js = await ready();
      await Promise.all(
        events.map((event) => {
          let msgID = ids.get(event);
          if (msgID === undefined) ids.set(event, (msgID = `${prefix}-${++sequence}`));
          return js.publish(name, encoder.encode(JSON.stringify(eventRecord(event))), { msgID });
        }),
      );
    },
    async close() {
      const open = await connection?.catch(() => null);
      await open?.drain().catch(() => {});
    },
  };
}

/** Events waiting to be published, in order; bounded. */
export class StreamOutbox {
  private batches: (readonly EventRow[])[] = [];
  private waiting = 0;
  readonly stats = { published: 0, failures: 0, dropped: 0 };

  constructor(
    private readonly publisher: StreamPublisher,
    private readonly max = OUTBOX_MAX_EVENTS,
  ) {}

  add(events: readonly EventRow[]): void {
    if (events.length === 0) return;
    this.batches.push(events);
    this.waiting += events.length;
    while (this.waiting > this.max && this.batches.length > 1) {
      const dropped = this.batches.shift()!;
      this.waiting -= dropped.length;
      this.stats.dropped += dropped.length;
    }
  }

  get size(): number {
    return this.waiting;
  }

  close(): Promise<void> {
    return this.publisher.close();
  }

  /** Publishes what waits, oldest first; stops at the first failure (kept for the next try). */
  async flush(): Promise<boolean> {
    while (this.batches.length > 0) {
      const batch = this.batches[0]!;
      try {
        await this.publisher.publish(batch);
      } catch {
        this.stats.failures++;
        return false;
      }
      this.batches.shift();
      this.waiting -= batch.length;
      this.stats.published += batch.length;
    }
    return true;
  }
}
