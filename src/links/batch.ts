/**
 * Bulk link writes: batches (create, update, delete) and CSV imports. Every item is checked with the same rules as
 * a single write; the valid ones are written in one transaction (on a database error nothing is applied), with
 * one audit entry, and published on the change feed once committed.
 */
import type { AuditContext, AuditLog } from "../audit/log.js";
import { AppError, batchTooLarge, ErrorCode, linkExists, linkManaged, notFound } from "../errors.js";
import type { ChangeFeed } from "../events/feed.js";
import { yieldToEventLoop } from "../event-loop.js";
import type { Db } from "../store/db.js";
import type { LinksStore } from "../store/links-store.js";
import { isValidCodeSyntax } from "./codes.js";
import type { ImportMode, ImportResult, ImportRow } from "./csv.js";
import { isLocked, type LinkWrite } from "./model.js";
import {
  type CreateLinkInput,
  GENERATE_ATTEMPTS,
  KEEP_PASSWORD,
  type LinkWriteRules,
  type UpdateLinkInput,
  validTarget,
} from "./write-rules.js";

export const MAX_BATCH_SIZE = 5000;

export interface BatchFailure {
  code: string;
  error: string;
  error_code?: number;
}

export interface BatchResult {
  success: string[];
  failed: BatchFailure[];
}

export class LinkBatches {
  constructor(
    private readonly store: LinksStore,
    private readonly rules: LinkWriteRules,
    private readonly feed: ChangeFeed,
    private readonly audit: AuditLog,
    private readonly clock: () => number = Date.now,
  ) {}

  async batchCreate(items: readonly CreateLinkInput[], by: AuditContext): Promise<BatchResult> {
    assertBatchSize(items.length);
    const now = this.clock();
    const failed: BatchFailure[] = [];
    const valid: { write: LinkWrite; force: boolean; generated: boolean }[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      try {
        const write = await this.rules.prepareCreate(item, now);
        if (seen.has(write.code) && !item.force) throw linkExists(write.code);
        seen.add(write.code);
        valid.push({ write, force: Boolean(item.force), generated: !item.code });
      } catch (err) {
        failed.push(itemFailure(item.code || "<generated>", err));
      }
    }
    // Inside the transaction everything is decided again on a retry (retryingConflicts).
    const { success, refused } = await this.store.transaction(async (trx) => {
      const refused: BatchFailure[] = [];
      const codes = valid.map((v) => v.write.code);
      const locked = await this.store.locked(codes, trx);
      const forced = new Map<string, LinkWrite>();
      const fresh = new Map<string, LinkWrite>();
      for (const item of valid) {
        if (item.force && locked.has(item.write.code)) {
          refused.push(itemFailure(item.write.code, linkManaged(item.write.code)));
        } else if (item.force) {
          fresh.delete(item.write.code);
          forced.set(item.write.code, item.write);
        } else if (!forced.has(item.write.code)) {
          fresh.set(item.write.code, item.write);
        }
      }
      // Without force a code is created only if it is free at the moment of the insert: of several writers
      // creating it at once exactly one succeeds. A generated code that turns out taken gets a new one.
      const inserted = await this.store.insertAbsent([...fresh.values()], now, trx);
      const generated = new Set(valid.filter((v) => v.generated).map((v) => v.write));
      for (const write of fresh.values()) {
        if (inserted.has(write.code)) continue;
        if (!generated.has(write)) {
          refused.push(itemFailure(write.code, linkExists(write.code)));
          continue;
        }
        for (let attempt = 0; attempt < GENERATE_ATTEMPTS && !inserted.has(write.code); attempt++) {
          write.code = this.rules.randomCode();
          for (const code of await this.store.insertAbsent([write], now, trx)) inserted.add(code);
        }
        if (!inserted.has(write.code)) refused.push(itemFailure("<generated>", linkExists(write.code)));
      }
      await this.store.upsertMany([...forced.values()], now, true, trx);
      const written = new Set([...inserted, ...forced.keys()]);
      const success = [...new Set(valid.map((v) => v.write.code))].filter((c) => written.has(c));
      await this.auditBatch(trx, "links.batch_create", success, failed.length + refused.length, by);
      return { success, refused };
    });
    failed.push(...refused);
    await this.feed.publishLinks(success);
    return { success, failed };
  }

  async batchUpdate(
    updates: readonly { code: string; payload: UpdateLinkInput }[],
    by: AuditContext,
  ): Promise<BatchResult> {
    assertBatchSize(updates.length);
    const now = this.clock();
    const { success, failed } = await this.store.transaction(async (trx) => {
      const failed: BatchFailure[] = [];
      // The rows stay locked until the end: a delete running at the same time either comes first (the link is
      // then not found here) or waits; a deleted link is never written back.
      const current = await this.store.getMany(
        updates.map((u) => u.code).filter(isValidCodeSyntax),
        trx,
        true,
      );
      const writes = new Map<string, LinkWrite>();
      for (const { code, payload } of updates) {
        try {
          const target = validTarget(payload.target);
          const link = writes.get(code) ?? current.get(code);
          if (!link) throw notFound();
          if (isLocked(link)) throw linkManaged(code);
          writes.set(code, await this.rules.applyUpdate(link, { ...payload, target }, now));
        } catch (err) {
          failed.push(itemFailure(code, err));
        }
      }
      await this.store.upsertMany([...writes.values()], now, true, trx);
      await this.auditBatch(trx, "links.batch_update", [...writes.keys()], failed.length, by);
      return { success: [...writes.keys()], failed };
    });
    await this.feed.publishLinks(success);
    return { success, failed };
  }

  async batchDelete(codes: readonly string[], by: AuditContext): Promise<BatchResult> {
    assertBatchSize(codes.length);
    const unique = [...new Set(codes)];
    // A code that fails the syntax check cannot exist; it never reaches the database (PostgreSQL rejects NULs).
    const candidates = unique.filter(isValidCodeSyntax);
    const { deleted, locked } = await this.store.transaction(async (trx) => {
      const locked = await this.store.locked(candidates, trx);
      const deleted = await this.store.deleteMany(
        candidates.filter((code) => !locked.has(code)),
        trx,
      );
      const success = unique.filter((code) => deleted.has(code));
      await this.auditBatch(trx, "links.batch_delete", success, unique.length - success.length, by);
      return { deleted, locked };
    });
    const success = unique.filter((code) => deleted.has(code));
    const failed = unique
      .filter((code) => !deleted.has(code))
      .map((code) =>
        locked.has(code)
          ? itemFailure(code, linkManaged(code))
          : { code, error: "Link not found", error_code: ErrorCode.LinkNotFound },
      );
    await this.feed.publishLinks(success);
    return { success, failed };
  }

  /** Validates every row, then writes the valid ones in one transaction according to `mode`. */
  async import(
    rows: readonly ImportRow[],
    mode: ImportMode,
    parseFailures: ImportResult["failed_items"],
    by: AuditContext,
  ): Promise<ImportResult> {
    const now = this.clock();
    const failed = [...parseFailures];
    let skipped = 0;
    const candidates = new Map<string, { write: LinkWrite; line: number | null }>();
    for (const [i, row] of rows.entries()) {
      if (i % 512 === 511) await yieldToEventLoop();
      try {
        const write = await this.rules.prepareImport(row, now);
        if (candidates.has(write.code) && mode !== "overwrite") {
          if (mode === "skip") skipped++;
          else
            failed.push({
              row: row.line,
              code: write.code,
              error: "Link already exists",
              error_code: ErrorCode.LinkAlreadyExists,
            });
          continue;
        }
        candidates.set(write.code, { write, line: row.line });
      } catch (err) {
        const failure = itemFailure(row.code, err);
        failed.push({ row: row.line, ...failure });
      }
    }
    // Decided again from scratch if the transaction is retried (retryingConflicts).
    const outcome = await this.store.transaction(async (trx) => {
      const todo = new Map(candidates);
      const refused: ImportResult["failed_items"] = [];
      let alreadyThere = 0;
      const exists = (code: string, line: number | null) => {
        if (mode === "skip") alreadyThere++;
        else
          refused.push({
            row: line,
            code,
            error: "Link already exists",
            error_code: ErrorCode.LinkAlreadyExists,
          });
      };
      for (const code of await this.store.locked([...todo.keys()], trx)) {
        const { line } = todo.get(code)!;
        todo.delete(code);
        if (mode === "overwrite") refused.push({ row: line, ...itemFailure(code, linkManaged(code)) });
        else exists(code, line);
      }
      // `[REDACTED]` passwords (an export without secrets) keep the password of the existing link.
      const keep = [...todo.values()].filter((c) => c.write.passwordHash === KEEP_PASSWORD);
      const hashes = await this.store.passwordHashes(
        keep.map((c) => c.write.code),
        trx,
      );
      for (const c of keep) {
        const existing = hashes.get(c.write.code);
        if (existing && mode === "overwrite") {
          c.write = { ...c.write, passwordHash: existing };
        } else if (existing) {
          todo.delete(c.write.code);
          exists(c.write.code, c.line);
        } else {
          todo.delete(c.write.code);
          refused.push({
            row: c.line,
            code: c.write.code,
            error:
              "The password is [REDACTED] in this file and the link does not exist here; export with include_secrets=true to move protected links",
            error_code: ErrorCode.BadRequest,
          });
        }
      }
      const writes = [...todo.values()].map((c) => c.write);
      let written: string[];
      if (mode === "overwrite") {
        await this.store.upsertMany(writes, now, false, trx);
        written = writes.map((w) => w.code);
      } else {
        // Skip and error modes create a link only if its code is free at the moment of the insert.
        const inserted = await this.store.insertAbsent(writes, now, trx);
        for (const { write, line } of todo.values()) if (!inserted.has(write.code)) exists(write.code, line);
        written = writes.map((w) => w.code).filter((code) => inserted.has(code));
      }
      await this.auditBatch(trx, `links.import_${mode}`, written, failed.length + refused.length, by);
      return { written, refused, alreadyThere };
    });
    const written = outcome.written;
    failed.push(...outcome.refused);
    skipped += outcome.alreadyThere;
    await this.feed.publishLinks(written);
    failed.sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
    return {
      total_rows: rows.length + parseFailures.length,
      success_count: written.length,
      skipped_count: skipped,
      failed_count: failed.length,
      failed_items: failed,
    };
  }

  /** The audit entry of a batch or import, in its transaction (nothing is recorded when nothing was written). */
  private async auditBatch(
    trx: Db,
    action: string,
    success: readonly string[],
    failed: number,
    by: AuditContext,
  ): Promise<void> {
    if (success.length === 0) return;
    await this.audit.recordIn(
      trx,
      {
        action,
        objectType: "links",
        after: { codes: success.slice(0, 100), count: success.length, failed },
      },
      by,
    );
  }
}

function assertBatchSize(size: number): void {
  if (size > MAX_BATCH_SIZE) {
    throw batchTooLarge(size, MAX_BATCH_SIZE);
  }
}

export function itemFailure(code: string, err: unknown): BatchFailure {
  if (!(err instanceof AppError)) throw err;
  // The reference's batch and import items say which check failed in the message itself.
  const error = err.code === ErrorCode.LinkInvalidUrl ? `Invalid URL: ${err.message}` : err.message;
  return { code, error, error_code: err.code };
}
