/**
 * SQL for links on the admin side: reads and pages, single and bulk writes with their per-engine upserts, and
 * tags. The list filters and orders are link-filter.ts, the redirect path's queries redirect-store.ts, the row
 * mapping link-rows.ts.
 */

import { type Kysely, sql, type Transaction } from "kysely";
import type { Link, LinkWrite } from "../links/model.js";
import { Managed } from "../util/ownership.js";
import { compiledOnce, type Db, type Engine, isUniqueViolation, retryingConflicts } from "./db.js";
import {
  chunksOf,
  compareCodes,
  LINK_COLUMNS,
  linkRow,
  SETTINGS_COLUMNS,
  changedColumns,
  writableColumns,
  toLink,
} from "./link-rows.js";
import { filteredLinks, type LinkFilter, type LinkSort, DEFAULT_LINK_SORT } from "./link-filter.js";
import { codesTagged, retag, sameTags, tagCounts, withTags, writeTags } from "./link-tags.js";
import type { Database, LinksTable } from "./schema.js";

export class LinksStore {
  constructor(
    readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  /** getLocked's read (every admin write of one link makes it): the link and its tags, one row per tag. */
  private readonly lockedRead = compiledOnce(
    (db, code: string) => {
      const query = db
        .selectFrom("links")
        .leftJoin("link_tags", "link_tags.code", "links.code")
        .select([...LINK_COLUMNS.map((column) => `links.${column}` as const), "link_tags.tag"])
        .where("links.code", "=", code)
        .orderBy("link_tags.tag");
      return this.engine === "postgres" ? query.forUpdate("links") : query;
    },
    [""] as [string],
  );

  /** A transaction, tried again when it loses a deadlock or a serialisation conflict (see retryingConflicts). */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return retryingConflicts(() => this.db.transaction().execute(fn));
  }

  async get(code: string, db: Db = this.db): Promise<Link | undefined> {
    const link = await this.getWithoutTags(code, db);
    return link && (await withTags([link], db))[0];
  }

  /** Tags in use, with how many links carry each. */
  tagCounts(db: Db = this.db): Promise<{ tag: string; count: number }[]> {
    return tagCounts(db);
  }

  /** The codes of the links carrying `tag`. */
  codesTagged(tag: string, db: Db = this.db): Promise<string[]> {
    return codesTagged(tag, db);
  }

  /**
   * Renames a tag on every link that has it (merging where a link has both), or removes it (`to` null); bumps
   * those links' revision so their ETags change. Returns the codes touched.
   */
  retag(from: string, to: string | null, now: number, db: Db): Promise<string[]> {
    return retag(from, to, now, db);
  }

  /** One link without its tags. */
  async getWithoutTags(code: string, db: Db = this.db): Promise<Link | undefined> {
    const row = await db.selectFrom("links").select(LINK_COLUMNS).where("code", "=", code).executeTakeFirst();
    return row && toLink(row);
  }

  /** The codes among `codes` that exist. */
  async existing(codes: readonly string[], db: Db = this.db): Promise<Set<string>> {
    const found = new Set<string>();
    for await (const chunk of chunksOf(codes)) {
      const rows = await db.selectFrom("links").select("code").where("code", "in", chunk).execute();
      for (const row of rows) found.add(row.code);
    }
    return found;
  }

  /** One page in `sort` order; ties broken by code so the order is stable. */
  async page(
    filter: LinkFilter,
    now: number,
    offset: number,
    limit: number,
    sort: LinkSort = DEFAULT_LINK_SORT,
  ): Promise<{ links: Link[]; total: number }> {
    let ordered = filteredLinks(this.db, filter, now)
      .select(LINK_COLUMNS)
      .orderBy(sort.column, sort.descending ? "desc" : "asc");
    if (sort.column !== "code") ordered = ordered.orderBy("code", "asc");
    const [rows, count] = await Promise.all([
      ordered.offset(offset).limit(limit).execute(),
      filteredLinks(this.db, filter, now)
        .select((eb) => eb.fn.countAll<number>().as("total"))
        .executeTakeFirstOrThrow(),
    ]);
    return { links: await withTags(rows.map(toLink), this.db), total: Number(count.total) };
  }

  /**
   * Every matching link in code order, fetched in batches by keyset (flat memory for any table size). Small
   * batches keep memory flat in practice, not only in theory: with 1000 rows a batch lived long enough to be
   * promoted out of V8's young generation, and RSS grew with every export until a full collection
   * (+130 MB over three exports of 100 000 rows; with 250 it stays within a few MB after the first).
   */
  async *scan(filter: LinkFilter, now: number, batchSize = 250): AsyncGenerator<Link[]> {
    let after: string | null = null;
    for (;;) {
      let query = filteredLinks(this.db, filter, now).select(LINK_COLUMNS);
      if (after !== null) query = query.where("code", ">", after);
      const rows = await query.orderBy("code", "asc").limit(batchSize).execute();
      if (rows.length === 0) return;
      yield await withTags(rows.map(toLink), this.db);
      if (rows.length < batchSize) return;
      after = rows[rows.length - 1]!.code;
    }
  }

  /** The password hashes of the given codes that have one. */
  async passwordHashes(codes: readonly string[], db: Db): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for await (const chunk of chunksOf(codes)) {
      const rows = await db
        .selectFrom("links")
        .select(["code", "password_hash"])
        .where("code", "in", chunk)
        .where("password_hash", "is not", null)
        .execute();
      for (const row of rows) found.set(row.code, row.password_hash!);
    }
    return found;
  }

  async insert(link: LinkWrite, now: number, db: Db = this.db): Promise<void> {
    await db.insertInto("links").values(linkRow(link, now)).execute();
    await writeTags([link], db);
  }

  /**
   * Replaces target, expiry, password, settings and tags (and the owner, when `link.managedBy` is given); keeps
   * created_at and click_count. False when the link does not exist.
   *
   * `before`, the link as read with its row locked in the same transaction, limits the write to what changed:
   * the columns that differ, and the tags only when they do. An unchanged column still rewrites its index entry
   * when it is set (`expires_at`: one more WAL page to write for each PUT on SQLite, of ~10).
   */
  async update(link: LinkWrite, now: number, db: Db = this.db, before?: LinkWrite): Promise<boolean> {
    let columns: Partial<ReturnType<typeof writableColumns>> = writableColumns(link);
    if (before) columns = changedColumns(columns, writableColumns(before));
    const query = db
      .updateTable("links")
      .set({ ...columns, updated_at: now, revision: sql`revision + 1` })
      .where("code", "=", link.code);
    const result = await query.executeTakeFirst();
    const updated = Number(result.numUpdatedRows) > 0;
    if (updated && !(before && sameTags(before.tags, link.tags))) await writeTags([link], db);
    return updated;
  }

  /**
   * The links among `codes` that exist, by code. With `lock` (inside a transaction) the rows stay locked until it
   * ends, taken in code order so that two transactions locking overlapping codes cannot deadlock: a concurrent
   * delete then waits, or has already happened and the link is simply missing — never brought back by a write
   * that read it before.
   */
  async getMany(codes: readonly string[], db: Db = this.db, lock = false): Promise<Map<string, Link>> {
    const found = new Map<string, Link>();
    const sorted = lock ? [...new Set(codes)].sort(compareCodes) : codes;
    for await (const chunk of chunksOf(sorted)) {
      let query = db.selectFrom("links").select(LINK_COLUMNS).where("code", "in", chunk);
      if (lock && this.engine !== "sqlite") query = query.orderBy("code").forUpdate();
      const rows = await query.execute();
      for (const row of rows) found.set(row.code, toLink(row));
    }
    await withTags([...found.values()], db);
    return found;
  }

  /**
   * One link with its tags, its row locked until the transaction `db` ends (`getMany` with `lock`, for a single
   * link). On SQLite and PostgreSQL the row and its tags come in one statement (a join; PostgreSQL locks only the
   * link's row, `FOR UPDATE OF links`), which spares a single-link write one of its statements — on PostgreSQL a
   * round trip, ~50 µs of CPU on a small VM. MariaDB has no `OF`: a locking join would also take gap locks on
   * `link_tags`, where two writers tagging neighbouring links could deadlock, so there it is two statements.
   */
  async getLocked(code: string, db: Db): Promise<Link | undefined> {
    if (this.engine === "mysql") return (await this.getMany([code], db, true)).get(code);
    const { rows } = await this.lockedRead(db, code);
    if (rows.length === 0) return undefined;
    const link = toLink(rows[0]!);
    for (const row of rows) if (row.tag !== null) link.tags.push(row.tag);
    return link;
  }

  /** Every link owned by one of `owners` (owner tags, see `Managed`), with its owner. */
  async codesOwnedBy(
    owners: readonly string[],
    db: Db = this.db,
  ): Promise<{ code: string; managedBy: string }[]> {
    if (owners.length === 0) return [];
    const rows = await db
      .selectFrom("links")
      .select(["code", "managed_by"])
      .where("managed_by", "in", owners)
      .execute();
    return rows.map((r) => ({ code: r.code, managedBy: r.managed_by! }));
  }

  /**
   * Inserts the links whose codes are free and leaves the others alone, atomically per row: of several writers
   * creating the same code at once exactly one gets it. Returns the codes inserted.
   */
  async insertAbsent(links: readonly LinkWrite[], now: number, db: Db): Promise<Set<string>> {
    const inserted = new Set<string>();
    const sorted = [...links].sort((a, b) => compareCodes(a.code, b.code));
    if (this.engine === "mysql") {
      // MySQL has no RETURNING, and INSERT IGNORE would also turn a too-long value into a silent truncation: one
      // plain INSERT per row, a duplicate key failing only its own statement (InnoDB keeps the transaction).
      for (const link of sorted) {
        try {
          await db.insertInto("links").values(linkRow(link, now)).execute();
          inserted.add(link.code);
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
        }
      }
    } else {
      for await (const chunk of chunksOf(sorted)) {
        const rows = await db
          .insertInto("links")
          .values(chunk.map((link) => linkRow(link, now)))
          .onConflict((oc) => oc.column("code").doNothing())
          .returning("code")
          .execute();
        for (const row of rows) inserted.add(row.code);
      }
    }
    await writeTags(
      sorted.filter((link) => inserted.has(link.code)),
      db,
    );
    return inserted;
  }

  /** Inserts new links (codes known to be free). */
  async insertMany(links: readonly LinkWrite[], now: number, db: Db): Promise<void> {
    for await (const chunk of chunksOf(links)) {
      await db
        .insertInto("links")
        .values(chunk.map((link) => linkRow(link, now)))
        .execute();
    }
    await writeTags(links, db);
  }

  /** The codes among `codes` whose links refuse API edits (see `Managed`). */
  async locked(codes: readonly string[], db: Db = this.db): Promise<Set<string>> {
    const found = new Set<string>();
    for await (const chunk of chunksOf(codes)) {
      const rows = await db
        .selectFrom("links")
        .select("code")
        .where("code", "in", chunk)
        .where("managed_by", "=", Managed.File)
        .execute();
      for (const row of rows) found.add(row.code);
    }
    return found;
  }

  /**
   * Inserts or replaces many links. With `keepHistory`, an existing row keeps its created_at and click_count
   * (an overwrite by the API); without it they come from the input (an import restoring a backup).
   */
  async upsertMany(unsorted: readonly LinkWrite[], now: number, keepHistory: boolean, db: Db): Promise<void> {
    // Rows are locked in code order by every multi-row write, so overlapping writers cannot deadlock.
    const links = [...unsorted].sort((a, b) => compareCodes(a.code, b.code));
    for await (const chunk of chunksOf(links)) {
      // SQLite writes synchronously: between chunks, requests queued meanwhile are answered.
      const rows = chunk.map((link) => linkRow(link, now));
      const insert = db.insertInto("links").values(rows);
      if (this.engine === "mysql") {
        // MariaDB has no row alias for the inserted values; VALUES(col) is the form both engines accept.
        const fromInput = <T>(column: keyof LinksTable) => sql<T>`values(${sql.ref(column)})`;
        await insert
          .onDuplicateKeyUpdate({
            target: fromInput<string>("target"),
            expires_at: fromInput<number | null>("expires_at"),
            password_hash: fromInput<string | null>("password_hash"),
            ...Object.fromEntries(SETTINGS_COLUMNS.map((column) => [column, fromInput(column)])),
            updated_at: now,
            revision: sql<number>`revision + 1`,
            ...(keepHistory
              ? {}
              : {
                  created_at: fromInput<number>("created_at"),
                  click_count: fromInput<number>("click_count"),
                }),
          })
          .execute();
      } else {
        await insert
          .onConflict((oc) =>
            oc.column("code").doUpdateSet((eb) => ({
              target: eb.ref("excluded.target"),
              expires_at: eb.ref("excluded.expires_at"),
              password_hash: eb.ref("excluded.password_hash"),
              ...Object.fromEntries(SETTINGS_COLUMNS.map((column) => [column, eb.ref(`excluded.${column}`)])),
              updated_at: now,
              revision: sql`links.revision + 1`,
              ...(keepHistory
                ? {}
                : { created_at: eb.ref("excluded.created_at"), click_count: eb.ref("excluded.click_count") }),
            })),
          )
          .execute();
      }
    }
    await writeTags(links, db);
  }

  async delete(code: string, db: Db = this.db, revision?: number): Promise<boolean> {
    let query = db.deleteFrom("links").where("code", "=", code);
    if (revision !== undefined) query = query.where("revision", "=", revision);
    const result = await query.executeTakeFirst();
    // Tags go with the link: link_tags references links ON DELETE CASCADE (SQLite runs with foreign_keys = ON).
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes the given codes; returns the ones that existed. */
  async deleteMany(codes: readonly string[], db: Db): Promise<Set<string>> {
    const found = await this.existing(codes, db);
    const present = [...found].sort(compareCodes);
    for await (const chunk of chunksOf(present)) {
      await db.deleteFrom("links").where("code", "in", chunk).execute();
    }
    return found;
  }

  async stats(now: number): Promise<{ totalLinks: number; totalClicks: number; activeLinks: number }> {
    const row = await this.db
      .selectFrom("links")
      .select((eb) => [
        eb.fn.countAll<number>().as("total_links"),
        eb.fn.coalesce(eb.fn.sum<number>("click_count"), sql<number>`0`).as("total_clicks"),
        eb.fn
          .sum<number>(
            eb
              .case()
              .when(eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
              .then(1)
              .else(0)
              .end(),
          )
          .as("active_links"),
      ])
      .executeTakeFirstOrThrow();
    return {
      totalLinks: Number(row.total_links),
      totalClicks: Number(row.total_clicks),
      activeLinks: Number(row.active_links ?? 0),
    };
  }
}
