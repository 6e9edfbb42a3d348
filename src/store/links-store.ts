/**
 * SQL for links. The only place that knows column names and the per-engine details of upserts and searches.
 */

import type { Selectable } from "kysely";
import type SQLite from "better-sqlite3";
import { type Kysely, sql, type Transaction } from "kysely";
import type { Link, LinkWrite, RedirectFields } from "../links/model.js";
import { Managed } from "../util/ownership.js";
import type { Rule } from "../links/rules.js";
import { type LinkSettings, type RedirectStatus, SETTINGS_FIELDS } from "../links/settings.js";
import type { Engine } from "./db.js";
import { type ClickBatch, CODE_LIST_SEPARATOR } from "./clicks.js";
import type { Database, LinksTable } from "./schema.js";
import { isUniqueViolation, retryingConflicts } from "./db.js";
import { yieldToEventLoop } from "../event-loop.js";

export type Db = Kysely<Database> | Transaction<Database>;

export interface LinkFilter {
  search?: string | undefined;
  createdAfter?: number | undefined;
  createdBefore?: number | undefined;
  state?: "active" | "expired" | undefined;
  /** Links with any (or, with `tagsMode: "all"`, every one) of these tags. */
  tags?: readonly string[] | undefined;
  tagsMode?: "any" | "all" | undefined;
}

/** Keeps statements well under every engine's bound-parameter limit. */
const CHUNK = 400;

/**
 * The settings columns a write sets; they are named like the API's settings fields (tags live in link_tags).
 */
const SETTINGS_COLUMNS = SETTINGS_FIELDS.filter(
  (field): field is Exclude<(typeof SETTINGS_FIELDS)[number], "tags"> => field !== "tags",
) satisfies readonly (keyof LinksTable)[];

const LINK_COLUMNS = [
  "code",
  "target",
  "created_at",
  "updated_at",
  "expires_at",
  "password_hash",
  "click_count",
  "revision",
  "managed_by",
  ...SETTINGS_COLUMNS,
] as const;

/** The columns behind `RedirectFields`: a cache miss reads these and nothing else. */
const REDIRECT_COLUMNS = [
  "target",
  "expires_at",
  "password_hash",
  "redirect_status",
  "enabled",
  "max_clicks",
  "valid_from",
  "fallback_url",
  "forward_query",
  "crawlable",
  "rules",
] as const satisfies readonly (typeof LINK_COLUMNS)[number][];

type RedirectRow = Pick<Selectable<LinksTable>, (typeof REDIRECT_COLUMNS)[number]>;

function settingsColumns(link: LinkSettings) {
  return {
    redirect_status: link.redirectStatus,
    enabled: link.enabled ? 1 : 0,
    max_clicks: link.maxClicks,
    valid_from: link.validFrom,
    fallback_url: link.fallbackUrl,
    title: link.title,
    notes: link.notes,
    forward_query: link.forwardQuery ? 1 : 0,
    crawlable: link.crawlable ? 1 : 0,
    rules: link.rules.length === 0 ? null : JSON.stringify(link.rules),
  };
}

/** A row as a link; `tags` are filled in by `withTags` where the caller needs them. */
function toLink(row: Pick<Selectable<LinksTable>, (typeof LINK_COLUMNS)[number]>): Link {
  return {
    redirectStatus: row.redirect_status === null ? null : (Number(row.redirect_status) as RedirectStatus),
    enabled: Number(row.enabled) === 1,
    maxClicks: row.max_clicks === null ? null : Number(row.max_clicks),
    validFrom: row.valid_from === null ? null : Number(row.valid_from),
    fallbackUrl: row.fallback_url,
    title: row.title,
    notes: row.notes,
    tags: [],
    forwardQuery: Number(row.forward_query) === 1,
    crawlable: Number(row.crawlable) === 1,
    rules: row.rules === null ? [] : (JSON.parse(row.rules) as Rule[]),
    code: row.code,
    target: row.target,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    passwordHash: row.password_hash,
    clickCount: Number(row.click_count),
    revision: Number(row.revision),
    managedBy: row.managed_by,
  };
}

function toRedirectFields(row: RedirectRow): RedirectFields {
  return {
    target: row.target,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    passwordHash: row.password_hash,
    redirectStatus: row.redirect_status === null ? null : (Number(row.redirect_status) as RedirectStatus),
    enabled: Number(row.enabled) === 1,
    maxClicks: row.max_clicks === null ? null : Number(row.max_clicks),
    validFrom: row.valid_from === null ? null : Number(row.valid_from),
    fallbackUrl: row.fallback_url,
    forwardQuery: Number(row.forward_query) === 1,
    crawlable: Number(row.crawlable) === 1,
    rules: row.rules === null ? [] : (JSON.parse(row.rules) as Rule[]),
  };
}

/** Code order as every engine sorts codes byte-wise (the lock order of multi-row writes). */
function compareCodes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `%` and `_` in user input match literally; `!` is the escape character on every engine. */
function likePattern(term: string): string {
  return `%${term.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export class LinksStore {
  private incrementClicks: SQLite.Statement<[number, string]> | undefined;
  private selectOne: SQLite.Statement<[string], RedirectRow> | undefined;

  constructor(
    readonly db: Kysely<Database>,
    private readonly engine: Engine,
    /** The raw SQLite connection, when the engine is SQLite: click flushes use a prepared statement on it. */
    private readonly sqlite: SQLite.Database | null = null,
  ) {}

  /** A transaction, tried again when it loses a deadlock or a serialisation conflict (see retryingConflicts). */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return retryingConflicts(() => this.db.transaction().execute(fn));
  }

  async get(code: string, db: Db = this.db): Promise<Link | undefined> {
    const link = await this.getWithoutTags(code, db);
    return link && (await this.withTags([link], db))[0];
  }

  /** Codes greater than `after`, in code order: one keyset page of a full scan (the code filter's build). */
  async codesAfter(after: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom("links")
      .select("code")
      .where("code", ">", after)
      .orderBy("code")
      .limit(limit)
      .execute();
    return rows.map((row) => row.code);
  }

  /**
   * What a redirect needs of one link, for the redirect path's cache misses: only `REDIRECT_COLUMNS`, so a miss
   * under churn (most visits, when the links far outnumber the cache) allocates little. On SQLite it is a
   * statement prepared once and run directly: the query builder compiles and prepares every query anew, which
   * made a cold cache serve at a third of its warm speed. While a transaction is open on the shared connection
   * (the query builder holds it across awaits) the read goes through the query builder, which waits its turn:
   * read directly, it would see rows that may still be rolled back.
   */
  async lookup(code: string): Promise<RedirectFields | undefined> {
    if (!this.sqlite || this.sqlite.inTransaction) {
      const row = await this.db
        .selectFrom("links")
        .select(REDIRECT_COLUMNS)
        .where("code", "=", code)
        .executeTakeFirst();
      return row && toRedirectFields(row);
    }
    this.selectOne ??= this.sqlite.prepare(
      `SELECT ${REDIRECT_COLUMNS.map((column) => `"${column}"`).join(", ")} FROM links WHERE code = ?`,
    );
    const row = this.selectOne.get(code);
    return row && toRedirectFields(row);
  }

  /** Links with a code greater than `after`, in code order: a keyset page of what redirects need (cache warm-up). */
  async linksAfter(after: string, limit: number): Promise<(RedirectFields & { code: string })[]> {
    const rows = await this.db
      .selectFrom("links")
      .select(["code", ...REDIRECT_COLUMNS])
      .where("code", ">", after)
      .orderBy("code")
      .limit(limit)
      .execute();
    return rows.map((row) => Object.assign(toRedirectFields(row), { code: row.code }));
  }

  /** One link without its tags. */
  async getWithoutTags(code: string, db: Db = this.db): Promise<Link | undefined> {
    const row = await db.selectFrom("links").select(LINK_COLUMNS).where("code", "=", code).executeTakeFirst();
    return row && toLink(row);
  }

  /** Fills in the tags of `links` (one query per chunk). */
  async withTags(links: Link[], db: Db = this.db): Promise<Link[]> {
    const byCode = new Map(links.map((link) => [link.code, link]));
    const codes = [...byCode.keys()];
    for (let i = 0; i < codes.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const rows = await db
        .selectFrom("link_tags")
        .select(["code", "tag"])
        .where("code", "in", codes.slice(i, i + CHUNK))
        .orderBy("tag")
        .execute();
      for (const row of rows) byCode.get(row.code)!.tags.push(row.tag);
    }
    return links;
  }

  /** Replaces the tags of the written links. */
  private async writeTags(links: readonly LinkWrite[], db: Db): Promise<void> {
    for (let i = 0; i < links.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = links.slice(i, i + CHUNK);
      await db
        .deleteFrom("link_tags")
        .where(
          "code",
          "in",
          chunk.map((l) => l.code),
        )
        .execute();
      const rows = chunk.flatMap((link) => link.tags.map((tag) => ({ code: link.code, tag })));
      for (let j = 0; j < rows.length; j += CHUNK) {
        await db
          .insertInto("link_tags")
          .values(rows.slice(j, j + CHUNK))
          .execute();
      }
    }
  }

  /** Tags in use, with how many links carry each. */
  async tagCounts(db: Db = this.db): Promise<{ tag: string; count: number }[]> {
    const rows = await db
      .selectFrom("link_tags")
      .select(["tag", (eb) => eb.fn.countAll<number>().as("count")])
      .groupBy("tag")
      .orderBy("tag")
      .execute();
    return rows.map((r) => ({ tag: r.tag, count: Number(r.count) }));
  }

  /** The codes of the links carrying `tag`. */
  async codesTagged(tag: string, db: Db = this.db): Promise<string[]> {
    const rows = await db.selectFrom("link_tags").select("code").where("tag", "=", tag).execute();
    return rows.map((r) => r.code);
  }

  /**
   * Renames a tag on every link that has it (merging into `to` where it is already present), or removes it
   * (`to` null); bumps those links' revision so their ETags change. Returns the codes touched.
   */
  async retag(from: string, to: string | null, now: number, db: Db): Promise<string[]> {
    const codes = await this.codesTagged(from, db);
    if (codes.length === 0) return codes;
    for (let i = 0; i < codes.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = codes.slice(i, i + CHUNK);
      if (to !== null) {
        const already = await db
          .selectFrom("link_tags")
          .select("code")
          .where("tag", "=", to)
          .where("code", "in", chunk)
          .execute();
        const have = new Set(already.map((r) => r.code));
        const add = chunk.filter((code) => !have.has(code)).map((code) => ({ code, tag: to }));
        if (add.length > 0) await db.insertInto("link_tags").values(add).execute();
      }
      await db.deleteFrom("link_tags").where("tag", "=", from).where("code", "in", chunk).execute();
      await db
        .updateTable("links")
        .set({ updated_at: now, revision: sql`revision + 1` })
        .where("code", "in", chunk)
        .execute();
    }
    return codes;
  }

  /** The codes among `codes` that exist. */
  async existing(codes: readonly string[], db: Db = this.db): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < codes.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = codes.slice(i, i + CHUNK);
      const rows = await db.selectFrom("links").select("code").where("code", "in", chunk).execute();
      for (const row of rows) found.add(row.code);
    }
    return found;
  }

  private filtered(filter: LinkFilter, now: number, db: Db = this.db) {
    let query = db.selectFrom("links");
    if (filter.search) {
      const pattern = likePattern(filter.search);
      query = query.where((eb) =>
        eb.or([
          eb(eb.fn("lower", ["code"]), "like", sql<string>`${pattern} escape '!'`),
          eb(eb.fn("lower", ["target"]), "like", sql<string>`${pattern} escape '!'`),
        ]),
      );
    }
    if (filter.tags && filter.tags.length > 0) {
      const tags = [...filter.tags];
      query =
        filter.tagsMode === "all"
          ? query.where("code", "in", (eb) =>
              eb
                .selectFrom("link_tags")
                .select("code")
                .where("tag", "in", tags)
                .groupBy("code")
                .having((h) => h.fn.count("tag").distinct(), "=", tags.length),
            )
          : query.where("code", "in", (eb) =>
              eb.selectFrom("link_tags").select("code").where("tag", "in", tags),
            );
    }
    if (filter.createdAfter !== undefined) query = query.where("created_at", ">=", filter.createdAfter);
    if (filter.createdBefore !== undefined) query = query.where("created_at", "<=", filter.createdBefore);
    if (filter.state === "expired") {
      query = query.where("expires_at", "is not", null).where("expires_at", "<=", now);
    } else if (filter.state === "active") {
      query = query.where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]));
    }
    return query;
  }

  /** One page, newest first; ties broken by code so the order is stable. */
  async page(
    filter: LinkFilter,
    now: number,
    offset: number,
    limit: number,
  ): Promise<{ links: Link[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.filtered(filter, now)
        .select(LINK_COLUMNS)
        .orderBy("created_at", "desc")
        .orderBy("code", "asc")
        .offset(offset)
        .limit(limit)
        .execute(),
      this.filtered(filter, now)
        .select((eb) => eb.fn.countAll<number>().as("total"))
        .executeTakeFirstOrThrow(),
    ]);
    return { links: await this.withTags(rows.map(toLink)), total: Number(count.total) };
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
      let query = this.filtered(filter, now).select(LINK_COLUMNS);
      if (after !== null) query = query.where("code", ">", after);
      const rows = await query.orderBy("code", "asc").limit(batchSize).execute();
      if (rows.length === 0) return;
      yield await this.withTags(rows.map(toLink));
      if (rows.length < batchSize) return;
      after = rows[rows.length - 1]!.code;
    }
  }

  /** The password hashes of the given codes that have one. */
  async passwordHashes(codes: readonly string[], db: Db): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < codes.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const rows = await db
        .selectFrom("links")
        .select(["code", "password_hash"])
        .where("code", "in", codes.slice(i, i + CHUNK))
        .where("password_hash", "is not", null)
        .execute();
      for (const row of rows) found.set(row.code, row.password_hash!);
    }
    return found;
  }

  async insert(link: LinkWrite, now: number, db: Db = this.db): Promise<void> {
    await db.insertInto("links").values(this.row(link, now)).execute();
    await this.writeTags([link], db);
  }

  /**
   * Replaces target, expiry and password (and the owner, when `link.managedBy` is given); keeps created_at and
   * click_count. With `revision`, only if the row is still at that revision. False when nothing was updated.
   */
  async update(link: LinkWrite, now: number, db: Db = this.db, revision?: number): Promise<boolean> {
    let query = db
      .updateTable("links")
      .set({
        target: link.target,
        expires_at: link.expiresAt,
        password_hash: link.passwordHash,
        ...settingsColumns(link),
        updated_at: now,
        revision: sql`revision + 1`,
        ...(link.managedBy === undefined ? {} : { managed_by: link.managedBy }),
      })
      .where("code", "=", link.code);
    if (revision !== undefined) query = query.where("revision", "=", revision);
    const result = await query.executeTakeFirst();
    const updated = Number(result.numUpdatedRows) > 0;
    if (updated) await this.writeTags([link], db);
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
    for (let i = 0; i < sorted.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      let query = db
        .selectFrom("links")
        .select(LINK_COLUMNS)
        .where("code", "in", sorted.slice(i, i + CHUNK));
      if (lock && this.engine !== "sqlite") query = query.orderBy("code").forUpdate();
      const rows = await query.execute();
      for (const row of rows) found.set(row.code, toLink(row));
    }
    await this.withTags([...found.values()], db);
    return found;
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
          await db.insertInto("links").values(this.row(link, now)).execute();
          inserted.add(link.code);
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
        }
      }
    } else {
      for (let i = 0; i < sorted.length; i += CHUNK) {
        if (i > 0) await yieldToEventLoop();
        const rows = await db
          .insertInto("links")
          .values(sorted.slice(i, i + CHUNK).map((link) => this.row(link, now)))
          .onConflict((oc) => oc.column("code").doNothing())
          .returning("code")
          .execute();
        for (const row of rows) inserted.add(row.code);
      }
    }
    await this.writeTags(
      sorted.filter((link) => inserted.has(link.code)),
      db,
    );
    return inserted;
  }

  /** Inserts new links (codes known to be free). */
  async insertMany(links: readonly LinkWrite[], now: number, db: Db): Promise<void> {
    for (let i = 0; i < links.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      await db
        .insertInto("links")
        .values(links.slice(i, i + CHUNK).map((link) => this.row(link, now)))
        .execute();
    }
    await this.writeTags(links, db);
  }

  /** The codes among `codes` whose links refuse API edits (see `Managed`). */
  async locked(codes: readonly string[], db: Db = this.db): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < codes.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const rows = await db
        .selectFrom("links")
        .select("code")
        .where("code", "in", codes.slice(i, i + CHUNK))
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
    for (let i = 0; i < links.length; i += CHUNK) {
      // SQLite writes synchronously: between chunks, requests queued meanwhile are answered.
      if (i > 0) await yieldToEventLoop();
      const rows = links.slice(i, i + CHUNK).map((link) => this.row(link, now));
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
    await this.writeTags(links, db);
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
    for (let i = 0; i < present.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      await db
        .deleteFrom("links")
        .where("code", "in", present.slice(i, i + CHUNK))
        .execute();
    }
    return found;
  }

  /**
   * Adds buffered click counts. Additive (`click_count + n`), so instances flushing concurrently never lose
   * each other's clicks; rows are locked in code order, so concurrent flushes cannot deadlock.
   */
  async addClicks(batch: ClickBatch): Promise<void> {
    if (this.engine === "postgres") return this.addClicksPostgres(batch);
    // One CASE per statement cannot add to a row twice: each code once, and in code order (lock order).
    const sums = new Map<string, number>();
    batch.codes.forEach((code, i) => sums.set(code, (sums.get(code) ?? 0) + batch.counts[i]!));
    const entries = [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (this.sqlite) return this.addClicksSqlite(entries);
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < entries.length; i += CHUNK) {
        if (i > 0) await yieldToEventLoop();
        const chunk = entries.slice(i, i + CHUNK);
        const increment = sql.join(
          chunk.map(([code, n]) => sql`when ${code} then ${n}`),
          sql` `,
        );
        await trx
          .updateTable("links")
          .set({ click_count: sql`click_count + case code ${increment} else 0 end` })
          .where(
            "code",
            "in",
            chunk.map(([code]) => code),
          )
          .execute();
      }
    });
  }

  /**
   * One statement whatever the number of codes. A flush under load carries tens of thousands of codes: sorting
   * them here and serialising two arrays stalled the event loop for ~20 ms, so the codes go as one string and the
   * database sorts. The materialised `locked` step takes the row locks in code order before the update.
   */
  private async addClicksPostgres(batch: ClickBatch): Promise<void> {
    const codes = batch.codes.join(CODE_LIST_SEPARATOR);
    const counts = batch.counts.join(",");
    // `group by`: a code listed twice must add both counts (an UPDATE … FROM changes a row once).
    await sql`with d as materialized (
        select code, sum(n)::bigint as n from unnest(string_to_array(${codes}::text, ${CODE_LIST_SEPARATOR}::text), string_to_array(${counts}::text, ',')::bigint[]) as d(code, n) group by code
      ), locked as materialized (
        select links.code from links join d on d.code = links.code order by links.code for update of links
      )
      update links set click_count = links.click_count + d.n
      from d join locked on locked.code = d.code
      where links.code = d.code`.execute(this.db);
  }

  /**
   * SQLite runs on the event loop, so a flush must be cheap: one statement prepared once and run per code in a
   * single transaction (no query building, no re-preparing). The connection is shared with Kysely; inside one of
   * its open transactions the flush would join it, so it refuses and the buffer retries at the next flush.
   */
  private addClicksSqlite(entries: [string, number][]): void {
    const sqlite = this.sqlite!;
    if (sqlite.inTransaction)
      throw new Error("a transaction is open on the SQLite connection; retrying later");
    this.incrementClicks ??= sqlite.prepare("UPDATE links SET click_count = click_count + ? WHERE code = ?");
    const statement = this.incrementClicks;
    sqlite.transaction(() => {
      for (const [code, n] of entries) statement.run(n, code);
    })();
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

  /**
   * Counts one visit of a link with `max_clicks`, if it has visits left: a single conditional update, so the
   * limit holds exactly however many instances serve the link at once. False when the limit is reached.
   */
  async claimClick(code: string): Promise<boolean> {
    const result = await this.db
      .updateTable("links")
      .set({ click_count: sql`click_count + 1` })
      .where("code", "=", code)
      .where("max_clicks", "is not", null)
      .where("click_count", "<", sql<number>`max_clicks`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Codes of enabled links marked crawlable (for robots.txt), in code order. */
  async crawlableCodes(limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom("links")
      .select("code")
      .where("crawlable", "=", 1)
      .where("enabled", "=", 1)
      .orderBy("code")
      .limit(limit)
      .execute();
    return rows.map((r) => r.code);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom("links")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private row(link: LinkWrite, now: number) {
    return {
      code: link.code,
      target: link.target,
      created_at: link.createdAt,
      updated_at: now,
      expires_at: link.expiresAt,
      password_hash: link.passwordHash,
      ...settingsColumns(link),
      click_count: link.clickCount,
      ...(link.managedBy === undefined ? {} : { managed_by: link.managedBy }),
    };
  }
}
