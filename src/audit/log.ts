/**
 * The audit log: every Admin API write, with who (actor), from where (client IP, request id), what (action,
 * object) and the object before and after — secrets never included (callers pass redacted views).
 *
 * Every service write that is recorded takes an `AuditContext` argument: the Admin API builds it from the request
 * (admin/context.ts), the CLI and start-up use `internalContext`. It is passed explicitly, not through
 * AsyncLocalStorage: on Node 20 an AsyncLocalStorage, once used, turns on async hooks for the whole process,
 * and every redirect after the first admin write paid for them (~8 % of its CPU in the benchmark).
 */
import { insertAuditRow } from "../store/audit-store.js";
import type { Db } from "../store/db.js";

/**
 * Who made a write, and from where. Every service names it `by`; where a service also checks what the caller
 * may do (API keys: scopes it may grant, keys it may touch), the authorising `Principal` is a separate `caller`.
 */
export interface AuditContext {
  actor: string;
  ip: string | null;
  requestId: string | null;
}

/** A write made outside an HTTP request: start-up ("system"), the CLI's offline commands ("cli"). */
export function internalContext(actor: string): AuditContext {
  return { actor, ip: null, requestId: null };
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
  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * Records one write inside the write's own transaction: the entry and the write commit together, or neither
   * does (a write that cannot be audited fails). Every audited write — links, tags, applies, keys, config and
   * sessions — is recorded this way.
   */
  async recordIn(db: Db, entry: AuditEntry, by: AuditContext): Promise<void> {
    await this.insert(db, entry, by);
  }

  private async insert(db: Db, entry: AuditEntry, by: AuditContext): Promise<void> {
    await insertAuditRow(db, {
      at: this.clock(),
      // Bounded to the columns: an over-long value must not make the entry fail.
      actor: by.actor.slice(0, 160),
      ip: by.ip?.slice(0, 64) ?? null,
      request_id: by.requestId?.slice(0, 128) ?? null,
      action: entry.action,
      object_type: entry.objectType,
      object_id: entry.objectId?.slice(0, 255) ?? null,
      before: toJson(entry.before),
      after: toJson(entry.after),
    });
  }
}

function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  return text.length > MAX_JSON ? JSON.stringify({ truncated: true, size: text.length }) : text;
}
