/**
 * The change feed: every write that changes what an instance caches or enforces is published here, and every
 * subscriber (link cache, config snapshot) applies it. Today it is in-process; carrying events between
 * instances (Redis pub/sub or a polled `changes` table) plugs in behind the same publish/subscribe surface.
 */
export type ChangeEvent =
  | { kind: "links"; codes: readonly string[] }
  | { kind: "links.all" }
  | { kind: "config"; keys: readonly string[] };

export type ChangeListener = (event: ChangeEvent) => void;

export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
