/**
 * The change feed: every write that changes what an instance caches or enforces is published here, applied
 * locally at once, and carried to every other instance by a transport (src/events/transport.ts). Listeners
 * learn whether an event is local or came from another instance.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { yieldToEventLoop } from "../event-loop.js";

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
