/**
 * The link service: the rules for creating, changing and removing links, in one place for single writes,
 * batches and imports (the same validation everywhere). Every committed write is published on the change feed.
 * Batches and imports write all their valid items in one transaction: on a database error nothing is applied.
 */

import { REDACTED } from "../text.js";
import { hashPassword, isArgon2idHash, verifyPassword } from "../util/password.js";
import type { AuditContext, AuditLog } from "../audit/log.js";
import type { ConfigService } from "../config/service.js";
import {
  AppError,
  batchTooLarge,
  ErrorCode,
  type FieldError,
  invalidClickCount,
  invalidCode,
  invalidDate,
  invalidExpiresAt,
  invalidPassword,
  invalidUrl,
  linkExists,
  managedByProvisioning,
  notFound,
  preconditionFailed,
  reservedCode,
} from "../errors.js";
import type { ChangeFeed } from "../events/feed.js";
import { yieldToEventLoop } from "../event-loop.js";
import type { Db, LinkFilter, LinksStore } from "../store/links-store.js";
import { checkCode, generateCode, isValidCodeSyntax } from "./codes.js";
import { ExpiryError, parseRfc3339, resolveExpiry } from "../util/time.js";
import { etagOf, isLocked, type Link, type LinkWrite } from "./model.js";
import {
  type Change,
  type FieldDiff,
  pruneReason,
  type SectionOptions,
  type SectionPlan,
} from "../provision/plan.js";
import type { DocumentLink } from "../provision/document.js";
import type { ImportMode, ImportResult, ImportRow } from "./csv.js";
import {
  checkTag,
  DEFAULT_SETTINGS,
  invalidSettings,
  pickSettings,
  resolveSettings,
  SETTINGS_FIELDS,
  type SettingsInput,
  settingsDiff,
  settingsResponse,
} from "./settings.js";
import { checkTarget } from "./target.js";

const PUBLISH_SLICE = 8192;

/** Placeholder during an import: take the password of the existing link. */
const KEEP_PASSWORD = "\u0000keep";

export const MAX_BATCH_SIZE = 5000;
const GENERATE_ATTEMPTS = 8;

export interface CreateLinkInput extends SettingsInput {
  code?: string | null | undefined;
  target: string;
  expires_at?: string | null | undefined;
  password?: string | null | undefined;
  force?: boolean | null | undefined;
}

export interface UpdateLinkInput extends SettingsInput {
  target: string;
  expires_at?: string | null | undefined;
  password?: string | null | undefined;
}

/** HTTP preconditions of a single-link write (`If-Match` / `If-None-Match: *`). */
export interface WritePreconditions {
  /** The ETag the client last saw; the write fails with 412 if the link has changed since. */
  ifMatch?: string | undefined;
}

export interface PutOptions extends WritePreconditions {
  /** Create the link when it does not exist (`?upsert=true`). */
  upsert: boolean;
  /** Create only: fail with 412 when the link exists (`If-None-Match: *`). */
  createOnly: boolean;
}

export interface ListQuery extends LinkFilter {
  page: number;
  pageSize: number;
}

export interface BatchFailure {
  code: string;
  error: string;
  error_code?: number;
}

export interface BatchResult {
  success: string[];
  failed: BatchFailure[];
}

export class LinkService {
  constructor(
    private readonly store: LinksStore,
    private readonly config: ConfigService,
    private readonly feed: ChangeFeed,
    private readonly audit: AuditLog,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(code: string): Promise<Link> {
    const link = isValidCodeSyntax(code) ? await this.store.get(code) : undefined;
    if (!link) throw notFound();
    return link;
  }

  list(query: ListQuery): Promise<{ links: Link[]; total: number }> {
    return this.store.page(query, this.clock(), (query.page - 1) * query.pageSize, query.pageSize);
  }

  stats() {
    return this.store.stats(this.clock());
  }

  scan(filter: LinkFilter) {
    return this.store.scan(filter, this.clock());
  }

  tags() {
    return this.store.tagCounts();
  }

  /**
   * Renames `from` to `to` on every link that has it (merging where a link has both), or removes it (`to`
   * null). Refused (409) while a link owned by the provisioning file carries the tag: the file is its source.
   */
  async renameTag(
    from: string,
    to: string | null,
    by: AuditContext,
  ): Promise<{ tag: string | null; links: number }> {
    let name: string | null = null;
    try {
      checkTag(from);
      if (to !== null) name = checkTag(to);
    } catch (err) {
      throw invalidSettings([{ field: to === null ? "tag" : "name", message: (err as Error).message }]);
    }
    const now = this.clock();
    const codes = await this.store.transaction(async (trx) => {
      const tagged = await this.store.codesTagged(from, trx);
      const locked = await this.store.locked(tagged, trx);
      if (locked.size > 0) throw linkManaged([...locked][0]!);
      const retagged = await this.store.retag(from, name, now, trx);
      if (retagged.length === 0) throw notFound(`Tag '${from}' is not in use`);
      await this.audit.recordIn(
        trx,
        {
          action: name === null ? "tag.delete" : "tag.rename",
          objectType: "tag",
          objectId: from,
          after: { tag: name, links: retagged.length },
        },
        by,
      );
      return retagged;
    });
    await this.published(codes);
    return { tag: name, links: codes.length };
  }

  async create(input: CreateLinkInput, by: AuditContext): Promise<Link> {
    const now = this.clock();
    const write = await this.prepareCreate(input, now);
    // One transaction: the link, and its audit entry (a write that cannot be audited does not happen).
    const created = await this.store.transaction(async (trx) => {
      for (let attempt = 1; !(await this.store.insertAbsent([write], now, trx)).has(write.code); attempt++) {
        if (input.code) {
          if (!input.force) throw linkExists(write.code);
          await this.lockedForWrite(write.code, {}, trx);
          await this.store.update(write, now, trx);
          break;
        }
        if (attempt >= GENERATE_ATTEMPTS) throw linkExists(write.code);
        write.code = this.randomCode();
      }
      const link = (await this.store.get(write.code, trx))!;
      await this.audit.recordIn(
        trx,
        { action: "link.create", objectType: "link", objectId: link.code, after: auditView(link) },
        by,
      );
      return link;
    });
    await this.published([created.code]);
    return created;
  }

  async update(
    code: string,
    input: UpdateLinkInput,
    conditions: WritePreconditions,
    by: AuditContext,
  ): Promise<Link> {
    const now = this.clock();
    const target = validTarget(input.target);
    // Read and written in one transaction with the row locked: concurrent writers take turns, so a write without
    // If-Match always applies to the latest version, and one with If-Match fails only when it really is stale.
    const updated = await this.store.transaction(async (trx) => {
      const link = await this.lockedForWrite(code, conditions, trx);
      await this.store.update(await this.applyUpdate(link, { ...input, target }, now), now, trx);
      const after = (await this.store.get(code, trx))!;
      await this.audit.recordIn(
        trx,
        {
          action: "link.update",
          objectType: "link",
          objectId: code,
          before: auditView(link),
          after: auditView(after),
        },
        by,
      );
      return after;
    });
    await this.published([code]);
    return updated;
  }

  async remove(code: string, conditions: WritePreconditions, by: AuditContext): Promise<void> {
    // As in update: the row is locked between the checks and the delete.
    await this.store.transaction(async (trx) => {
      const link = await this.lockedForWrite(code, conditions, trx);
      await this.store.delete(code, trx);
      await this.audit.recordIn(
        trx,
        { action: "link.delete", objectType: "link", objectId: code, before: auditView(link) },
        by,
      );
    });
    await this.published([code]);
  }

  /**
   * `PUT /links/{code}`. Without `upsert` it is Shortlinker's partial update (absent fields keep their value).
   * With `upsert` the body is the whole link: it is created when missing and replaced otherwise (absent
   * `expires_at`/`password` mean none), and a body equal to the stored link writes nothing, so repeating the
   * request changes neither the link nor its ETag.
   */
  async put(
    code: string,
    input: UpdateLinkInput,
    options: PutOptions,
    by: AuditContext,
  ): Promise<{ link: Link; created: boolean }> {
    if (!options.upsert && !options.createOnly)
      return { link: await this.update(code, input, options, by), created: false };
    const current = isValidCodeSyntax(code) ? await this.store.get(code) : undefined;
    if (!current) {
      if (options.ifMatch !== undefined) throw preconditionFailed("The link does not exist (If-Match)");
      try {
        return { link: await this.create({ ...input, code }, by), created: true };
      } catch (err) {
        // Created by someone else between our read and our insert.
        if (err instanceof AppError && err.code === ErrorCode.LinkAlreadyExists) {
          if (options.createOnly) throw existsPrecondition(code);
          return this.put(code, input, options, by);
        }
        throw err;
      }
    }
    if (options.createOnly) throw existsPrecondition(code);
    const replacement = wholeLink(input);
    if (await this.sameAs(current, replacement)) {
      assertMatches(current, options.ifMatch);
      return { link: current, created: false };
    }
    return { link: await this.update(code, replacement, options, by), created: false };
  }

  /** The link, locked until `trx` ends, once it is known to exist, to accept API edits and to match If-Match. */
  private async lockedForWrite(code: string, conditions: WritePreconditions, trx: Db): Promise<Link> {
    const link = isValidCodeSyntax(code)
      ? (await this.store.getMany([code], trx, true)).get(code)
      : undefined;
    if (!link) throw notFound(`Link '${code}' not found`);
    assertEditable(link);
    assertMatches(link, conditions.ifMatch);
    return link;
  }

  /** True when writing `input` (a whole link) would leave the link as it is. */
  private async sameAs(link: Link, input: ReturnType<typeof wholeLink>) {
    const target = validTarget(input.target);
    if (target !== link.target) return false;
    if (validExpiry(input.expires_at, this.clock()) !== link.expiresAt) return false;
    const settings = resolveSettings(input, DEFAULT_SETTINGS);
    if (Object.keys(settingsDiff(pickSettings(link), settings)).length > 0) return false;
    return this.samePassword(link.passwordHash, input.password);
  }

  async batchCreate(items: readonly CreateLinkInput[], by: AuditContext): Promise<BatchResult> {
    assertBatchSize(items.length);
    const now = this.clock();
    const failed: BatchFailure[] = [];
    const valid: { write: LinkWrite; force: boolean; generated: boolean }[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      try {
        const write = await this.prepareCreate(item, now);
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
          write.code = this.randomCode();
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
    await this.published(success);
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
          writes.set(code, await this.applyUpdate(link, { ...payload, target }, now));
        } catch (err) {
          failed.push(itemFailure(code, err));
        }
      }
      await this.store.upsertMany([...writes.values()], now, true, trx);
      await this.auditBatch(trx, "links.batch_update", [...writes.keys()], failed.length, by);
      return { success: [...writes.keys()], failed };
    });
    await this.published(success);
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
    await this.published(success);
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
        const write = await this.prepareImport(row, now);
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
    await this.published(written);
    failed.sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
    return {
      total_rows: rows.length + parseFailures.length,
      success_count: written.length,
      skipped_count: skipped,
      failed_count: failed.length,
      failed_items: failed,
    };
  }

  /**
   * The links part of an apply: compares the document's links with the database (`db`: the apply transaction)
   * and returns what would change. A document link is the whole link: absent `expires_at`/`password` mean none;
   * `[REDACTED]` keeps the current password. With `prune`, the owner's links the document omits are deleted.
   */
  async planState(items: readonly DocumentLink[], options: SectionOptions, db: Db): Promise<SectionPlan> {
    const now = this.clock();
    const owner = options.tag;
    const current = await this.store.getMany(
      items.map((item) => item.code),
      db,
    );
    const errors: FieldError[] = [];
    const changes: Change[] = [];
    const inserts: LinkWrite[] = [];
    const updates: LinkWrite[] = [];
    let unchanged = 0;
    for (const [i, item] of items.entries()) {
      const at = (field: string) => `links[${i}].${field}`;
      const problems = errors.length;
      const fail = (field: string, err: unknown) =>
        errors.push({ field: at(field), message: messageOf(err) });
      let target = "";
      let expiresAt: number | null = null;
      let settings = DEFAULT_SETTINGS;
      try {
        this.validCode(item.code);
      } catch (err) {
        fail("code", err);
      }
      try {
        settings = resolveSettings(item, DEFAULT_SETTINGS);
      } catch (err) {
        if (!(err instanceof AppError && err.fields)) throw err;
        for (const f of err.fields) fail(f.field, f.message);
      }
      try {
        target = validTarget(item.target);
      } catch (err) {
        fail("target", err);
      }
      if (item.expires_at) {
        expiresAt = parseRfc3339(item.expires_at);
        if (expiresAt === null) fail("expires_at", "must be an RFC 3339 time (e.g. 2030-01-01T00:00:00Z)");
      }
      const existing = current.get(item.code);
      const password = item.password ?? "";
      if (password === REDACTED && !existing?.passwordHash) {
        fail(
          "password",
          "is [REDACTED] but the link has no password here; give the password or its $argon2id$ hash",
        );
      }
      if (errors.length > problems) continue;

      const diff: Record<string, FieldDiff> = {};
      const samePassword = await this.samePassword(existing?.passwordHash ?? null, password);
      if (!existing) {
        inserts.push({
          code: item.code,
          target,
          expiresAt,
          passwordHash: password === "" ? null : await passwordHash(password),
          createdAt: now,
          clickCount: 0,
          managedBy: owner,
          ...settings,
        });
        diff.target = { from: null, to: target };
        if (expiresAt !== null) diff.expires_at = { from: null, to: iso(expiresAt) };
        if (password !== "") diff.password = { from: null, to: REDACTED };
        for (const [field, change] of Object.entries(settingsDiff(DEFAULT_SETTINGS, settings))) {
          diff[field] = { from: null, to: change.to };
        }
        changes.push({ kind: "link", id: item.code, action: "create", diff });
        continue;
      }
      if (target !== existing.target) diff.target = { from: existing.target, to: target };
      if (expiresAt !== existing.expiresAt)
        diff.expires_at = { from: iso(existing.expiresAt), to: iso(expiresAt) };
      if (!samePassword) {
        diff.password = {
          from: existing.passwordHash === null ? null : REDACTED,
          to: password === "" ? null : REDACTED,
        };
      }
      Object.assign(diff, settingsDiff(pickSettings(existing), settings));
      // The file takes over whatever it lists. An API apply never changes an owner: it prunes only what an apply
      // under its owner created, so a link made by hand and later listed stays the API's and is never pruned.
      const adopts = options.owner === "file";
      if (adopts && existing.managedBy !== owner) {
        diff.managed_by = { from: existing.managedBy ?? "api", to: owner };
      }
      if (Object.keys(diff).length === 0) {
        unchanged++;
        continue;
      }
      if (options.owner === "api" && isLocked(existing)) {
        fail("code", linkManaged(item.code));
        continue;
      }
      updates.push({
        code: item.code,
        target,
        expiresAt,
        passwordHash: samePassword
          ? existing.passwordHash
          : password === ""
            ? null
            : await passwordHash(password),
        createdAt: existing.createdAt,
        clickCount: existing.clickCount,
        ...settings,
        ...(adopts ? { managedBy: owner } : {}),
      });
      changes.push({ kind: "link", id: item.code, action: "update", diff });
    }

    const deletes: string[] = [];
    if (options.prune) {
      const listed = new Set(items.map((item) => item.code));
      for (const { code, managedBy } of await this.store.codesOwnedBy(options.prunable, db)) {
        if (listed.has(code)) continue;
        deletes.push(code);
        changes.push({ kind: "link", id: code, action: "delete", diff: {}, reason: pruneReason(managedBy) });
      }
    }

    return {
      changes,
      unchanged,
      errors,
      write: async (trx, at) => {
        await this.store.insertMany(inserts, at, trx);
        for (const link of updates) await this.store.update(link, at, trx);
        await this.store.deleteMany(deletes, trx);
      },
      committed: () =>
        this.published([...inserts.map((l) => l.code), ...updates.map((l) => l.code), ...deletes]),
    };
  }

  /** Does `input` (plain, `$argon2id$` hash, `[REDACTED]` or "" for none) leave `stored` as it is? */
  private async samePassword(stored: string | null, input: string): Promise<boolean> {
    if (input === REDACTED) return stored !== null;
    if (input === "" || stored === null) return input === "" && stored === null;
    if (isArgon2idHash(input)) return input === stored;
    return verifyPassword(stored, input);
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

  /** Used by the redirect path on a cache miss (tags are not needed there). */
  lookupForRedirect(code: string) {
    return this.store.lookup(code);
  }

  /** One visit of a link with `max_clicks`; false when it has none left. */
  claimClick(code: string): Promise<boolean> {
    return this.store.claimClick(code);
  }

  /**
   * `/robots.txt`: everything is disallowed except the links marked crawlable (each allowed exactly, `$`).
   * At most 10 000 are listed, which is more than any crawler reads.
   */
  async robotsTxt(): Promise<string> {
    const codes = await this.store.crawlableCodes(10_000);
    const allowed = codes.map((code) => `Allow: /${code}$\n`).join("");
    return `# Short links are not for indexing, except those marked crawlable.\nUser-agent: *\n${allowed}Disallow: /\n`;
  }

  private async prepareCreate(input: CreateLinkInput, now: number): Promise<LinkWrite> {
    const code = input.code ? this.validCode(input.code) : this.randomCode();
    return {
      code,
      target: validTarget(input.target),
      expiresAt: validExpiry(input.expires_at ?? "", now),
      passwordHash: input.password ? await passwordHash(input.password) : null,
      createdAt: now,
      clickCount: 0,
      ...resolveSettings(input, DEFAULT_SETTINGS),
    };
  }

  private async applyUpdate(current: LinkWrite, input: UpdateLinkInput, now: number): Promise<LinkWrite> {
    // Absent or null keeps the current value; "" removes it.
    const expiresAt =
      input.expires_at === undefined || input.expires_at === null
        ? current.expiresAt
        : validExpiry(input.expires_at, now);
    let passwordHashValue = current.passwordHash;
    if (input.password === "") passwordHashValue = null;
    else if (typeof input.password === "string") passwordHashValue = await passwordHash(input.password);
    return {
      code: current.code,
      target: input.target,
      expiresAt,
      passwordHash: passwordHashValue,
      createdAt: current.createdAt,
      clickCount: current.clickCount,
      ...resolveSettings(input, pickSettings(current)),
    };
  }

  private async prepareImport(row: ImportRow, now: number): Promise<LinkWrite> {
    if (row.errors.length > 0) throw invalidSettings(row.errors);
    if (row.code === "") throw invalidCode("Empty code");
    const code = this.validCode(row.code);
    const createdAt = row.created_at === "" ? now : parseRfc3339(row.created_at);
    if (createdAt === null) {
      throw invalidDate(`Invalid created_at '${row.created_at}'`);
    }
    const clickCount = row.click_count === "" ? 0 : Number(row.click_count);
    if (!/^\d{1,15}$/.test(row.click_count || "0")) {
      throw invalidClickCount();
    }
    let hash: string | null = null;
    if (row.password === REDACTED) {
      hash = KEEP_PASSWORD;
    } else if (row.password.startsWith("$argon2")) {
      if (!isArgon2idHash(row.password)) {
        throw invalidPassword("password looks like a hash but is not a valid $argon2id$ string");
      }
      hash = row.password;
    } else if (row.password !== "") {
      hash = await hashPassword(row.password);
    }
    return {
      code,
      target: validTarget(row.target),
      expiresAt: validExpiry(row.expires_at, now),
      passwordHash: hash,
      createdAt,
      clickCount,
      ...resolveSettings(row.settings, DEFAULT_SETTINGS),
    };
  }

  private validCode(code: string): string {
    const check = checkCode(code, this.config.reservedPrefixes());
    if (check.ok) return code;
    throw check.reserved ? reservedCode(check.reason) : invalidCode(check.reason);
  }

  private randomCode(): string {
    const length = this.config.get("features.random_code_length");
    const reserved = this.config.reservedPrefixes();
    for (;;) {
      const code = generateCode(length);
      if (checkCode(code, reserved).ok) return code;
    }
  }

  /** Tells every instance (this one included) which codes changed; resolves when the event is durable. */
  /**
   * Publishes written codes. An import's 138 000 codes go in slices that give way between them: the caches and
   * the code set take each slice on the event loop, and all at once that was a 120 ms stall of every redirect.
   */
  private async published(codes: readonly string[]): Promise<void> {
    for (let i = 0; i < codes.length; i += PUBLISH_SLICE) {
      if (i > 0) await yieldToEventLoop();
      await this.feed.publish({ kind: "links", codes: codes.slice(i, i + PUBLISH_SLICE) });
    }
  }
}

/** What the audit log keeps of a link: never the password hash. */
function auditView(link: Link) {
  return {
    code: link.code,
    target: link.target,
    expires_at: link.expiresAt === null ? null : new Date(link.expiresAt).toISOString(),
    password: link.passwordHash === null ? null : REDACTED,
    ...settingsResponse(link),
  };
}

/** An upsert body as the whole link: every absent optional field means its default. */
function wholeLink(input: UpdateLinkInput) {
  const settings: SettingsInput = {};
  for (const field of SETTINGS_FIELDS) (settings as Record<string, unknown>)[field] = input[field] ?? null;
  return {
    ...settings,
    target: input.target,
    expires_at: input.expires_at ?? "",
    password: input.password ?? "",
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function messageOf(err: unknown): string {
  if (typeof err === "string") return err;
  if (err instanceof AppError) return err.message;
  throw err;
}

function validTarget(input: string): string {
  const check = checkTarget(input);
  if (!check.ok) throw invalidUrl(check.reason);
  return check.target;
}

function validExpiry(input: string, now: number): number | null {
  try {
    return resolveExpiry(input, now);
  } catch (err) {
    if (err instanceof ExpiryError) throw invalidExpiresAt(err.message);
    throw err;
  }
}

/** A valid `$argon2id$` hash is kept (moving links between instances); anything else is hashed. */
async function passwordHash(input: string): Promise<string> {
  return isArgon2idHash(input) ? input : hashPassword(input);
}

/** A link owned by an apply document refuses API edits. */
function assertEditable(link: Pick<Link, "code" | "managedBy">): void {
  if (isLocked(link)) throw linkManaged(link.code);
}

function linkManaged(code: string): AppError {
  return managedByProvisioning(
    `Link '${code}' is managed by an apply document; change it there (or let the document allow API edits)`,
  );
}

function assertMatches(link: Link, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(",").map((t) => t.trim());
  if (!tags.includes("*") && !tags.includes(etagOf(link))) {
    throw preconditionFailed("The link has changed since it was read (ETag mismatch)");
  }
}

const existsPrecondition = (code: string) =>
  preconditionFailed(`Link '${code}' already exists (If-None-Match: *)`);

function assertBatchSize(size: number): void {
  if (size > MAX_BATCH_SIZE) {
    throw batchTooLarge(size, MAX_BATCH_SIZE);
  }
}

function itemFailure(code: string, err: unknown): BatchFailure {
  if (!(err instanceof AppError)) throw err;
  // The reference's batch and import items say which check failed in the message itself.
  const error = err.code === ErrorCode.LinkInvalidUrl ? `Invalid URL: ${err.message}` : err.message;
  return { code, error, error_code: err.code };
}
