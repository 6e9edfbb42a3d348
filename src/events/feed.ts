/**
 * The change feed: every write that changes what an instance caches or enforces is published here, applied
 * locally at once, and carried to every other instance by a transport (src/events/transport.ts). Listeners
 * learn whether an event is local or came from another instance.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { yieldToEventLoop } from "../event-loop.js";
import type { Db } from "../store/db.js";

const LINKS_PER_EVENT = 8192;

export type ChangeEvent =
  | { kind: "links"; codes: readonly string[] }
  | { kind: "links.all" }
  | { kind: "config"; keys: readonly string[] }
  | { kind: "keys"; ids: readonly string[] };

export type ChangeListener = (event: ChangeEvent, from: "local" | "remote") => void;

export interface ChangeTransport {
  /** Makes the event durable for the other instances. */
  send(event: ChangeEvent, origin: string): Promise<void>;
  /** Writes the event in the caller's transaction; `announce` once it has committed. */
  writeIn(db: Db, event: ChangeEvent, origin: string): Promise<void>;
  /** Tells the other instances that events were committed (they read them from where `writeIn` put them). */
  announce(origin: string): void;
}

export class ChangeFeed {
  /** Identifies this process in the change log, so it skips its own events. */
  readonly origin = randomUUID();
  private readonly listeners = new Set<ChangeListener>();
  private transport: ChangeTransport | null = null;

  constructor(private readonly log?: Logger) {}

  attach(transport: ChangeTransport): void {
    this.transport = transport;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies the event here and sends it to the other instances. Resolves once it is durable; a failure to send
   * is logged, not thrown (the write itself has succeeded; caches converge through their TTLs).
   */
  async publish(event: ChangeEvent): Promise<void> {
    this.emit(event, "local");
    if (!this.transport) return;
    try {
      await this.transport.send(event, this.origin);
    } catch (err) {
      this.log?.error({ err, event: event.kind }, "could not publish a change to other instances");
    }
  }

  /**
   * Records the event in the write's own transaction, as its last statement: the write and its change commit
   * together (one commit instead of two — a PUT's second commit was a sixth of its CPU on SQLite), and a write
   * that commits is never left unannounced by a crash or a failure between the two. Call `committed` with the same
   * event once the transaction has committed; a rolled-back write leaves no change behind.
   */
  async recordIn(db: Db, event: ChangeEvent): Promise<void> {
    await this.transport?.writeIn(db, event, this.origin);
  }

  /** Applies an event recorded with `recordIn` here, and tells the other instances, after its commit. */
  committed(event: ChangeEvent): void {
    this.emit(event, "local");
    this.transport?.announce(this.origin);
  }

  /**
   * Publishes written link codes. An import's 138 000 codes go in slices that give way between them: the caches
   * and the code set take each slice on the event loop, and all at once that was a 120 ms stall of every redirect.
   */
  async publishLinks(codes: readonly string[]): Promise<void> {
    for (let i = 0; i < codes.length; i += LINKS_PER_EVENT) {
      if (i > 0) await yieldToEventLoop();
      await this.publish({ kind: "links", codes: codes.slice(i, i + LINKS_PER_EVENT) });
    }
  }

  /** Applies an event to this instance only (a reload that found changes; an event from another instance). */
  emit(event: ChangeEvent, from: "local" | "remote"): void {
    for (const listener of this.listeners) listener(event, from);
  }
}
