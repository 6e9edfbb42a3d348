/**
 * The audit log: every Admin API write, with who (actor), from where (client IP, request id), what (action,
 * object) and the object before and after — secrets never included (callers pass redacted views).
 *
 * The HTTP layer runs each request inside `withAuditContext`; services call `record` without knowing about
 * HTTP. Writes made outside a request (the CLI, start-up) are attributed to the default actor.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../store/schema.js";

export interface AuditContext {
  actor: string;
  ip: string | null;
  requestId: string | null;
}

const context = new AsyncLocalStorage<AuditContext>();

export function withAuditContext<T>(value: AuditContext, run: () => T): T {
  return context.run(value, run);
}

export interface AuditEntry {
  action: string;
  objectType: string;
  objectId?: string | null;
  before?: unknown;
  after?: unknown;
}

const MAX_JSON = 16_384;

export class AuditLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly defaultActor = "system",
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records one write. A failure is logged, never thrown: the write itself has already happened. */
  async record(entry: AuditEntry): Promise<void> {
    const ctx = context.getStore();
    try {
      await this.db
        .insertInto("audit_log")
        .values({
          at: this.clock(),
          actor: ctx?.actor ?? this.defaultActor,
          ip: ctx?.ip ?? null,
          request_id: ctx?.requestId ?? null,
          action: entry.action,
          object_type: entry.objectType,
          object_id: entry.objectId?.slice(0, 255) ?? null,
          before: toJson(entry.before),
          after: toJson(entry.after),
        })
        .execute();
    } catch (err) {
      this.log.error({ err, action: entry.action }, "could not write the audit log");
    }
  }
}

function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  return text.length > MAX_JSON ? JSON.stringify({ truncated: true, size: text.length }) : text;
}
