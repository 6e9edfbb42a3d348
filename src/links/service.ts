/**
 * The link service: reads, tags, and the single-link lifecycle (create, update, remove, put with If-Match). Writes
 * are checked by links/write-rules.ts (the same rules as batches, imports and apply documents), committed with
 * their audit entry in one transaction, and published on the change feed. Bulk writes are links/batch.ts.
 */
import type { AuditContext, AuditLog } from "../audit/log.js";
import { AppError, ErrorCode, linkExists, linkManaged, notFound, preconditionFailed } from "../errors.js";
import type { ChangeEvent, ChangeFeed } from "../events/feed.js";
import type { Db } from "../store/db.js";
import type { LinkFilter, LinkSort } from "../store/link-filter.js";
import type { LinksStore } from "../store/links-store.js";
import { isValidCodeSyntax } from "./codes.js";
import { etagOf, isLocked, type Link, type LinkWrite } from "./model.js";
import {
  checkTag,
  DEFAULT_SETTINGS,
  invalidSettings,
  pickSettings,
  resolveSettings,
  settingsDiff,
} from "./settings.js";
import {
  auditView,
  type CreateLinkInput,
  GENERATE_ATTEMPTS,
  type LinkWriteRules,
  type UpdateLinkInput,
  validExpiry,
  validTarget,
  wholeLink,
} from "./write-rules.js";

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
  sort?: LinkSort | undefined;
}

export class LinkService {
  constructor(
    private readonly store: LinksStore,
    private readonly rules: LinkWriteRules,
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
    return this.store.page(
      query,
      this.clock(),
      (query.page - 1) * query.pageSize,
      query.pageSize,
      query.sort,
    );
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
    await this.feed.publishLinks(codes);
    return { tag: name, links: codes.length };
  }

  async create(input: CreateLinkInput, by: AuditContext): Promise<Link> {
    const now = this.clock();
    const write = await this.rules.prepareCreate(input, now);
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
        write.code = this.rules.randomCode();
      }
      const link = (await this.store.get(write.code, trx))!;
      await this.audit.recordIn(
        trx,
        { action: "link.create", objectType: "link", objectId: link.code, after: auditView(link) },
        by,
      );
      await this.feed.recordIn(trx, linkChanged(link.code));
      return link;
    });
    this.feed.committed(linkChanged(created.code));
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
      const write = await this.rules.applyUpdate(link, { ...input, target }, now);
      await this.store.update(write, now, trx, link);
      const after = writtenOver(link, write, now);
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
      await this.feed.recordIn(trx, linkChanged(code));
      return after;
    });
    this.feed.committed(linkChanged(code));
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
      await this.feed.recordIn(trx, linkChanged(code));
    });
    this.feed.committed(linkChanged(code));
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
    const link = isValidCodeSyntax(code) ? await this.store.getLocked(code, trx) : undefined;
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
    return this.rules.samePassword(link.passwordHash, input.password);
  }
}

const linkChanged = (code: string): ChangeEvent => ({ kind: "links", codes: [code] });

/**
 * The link as `write` leaves it, without reading it back: the write's fields over the row read (and locked) in
 * the same transaction, whose click count cannot move meanwhile; `LinksStore.update` sets `updated_at` and adds one
 * to the revision. Saves a PUT two of its nine statements.
 */
function writtenOver(before: Link, write: LinkWrite, now: number): Link {
  return {
    ...before,
    ...write,
    managedBy: write.managedBy === undefined ? before.managedBy : write.managedBy,
    clickCount: before.clickCount,
    createdAt: before.createdAt,
    updatedAt: now,
    revision: before.revision + 1,
  };
}

/** A link owned by an apply document refuses API edits. */
function assertEditable(link: Pick<Link, "code" | "managedBy">): void {
  if (isLocked(link)) throw linkManaged(link.code);
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
