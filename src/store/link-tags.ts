/**
 * Tags live in `link_tags` (one row per link and tag). These queries read and write them for the links store;
 * every one takes the connection or transaction it runs in.
 */
import { sql } from "kysely";
import type { Link, LinkWrite } from "../links/model.js";
import type { Db } from "./db.js";
import { CHUNK, chunksOf } from "./link-rows.js";

/** Fills in the tags of `links` (one query per chunk). */
export async function withTags(links: Link[], db: Db): Promise<Link[]> {
  const byCode = new Map(links.map((link) => [link.code, link]));
  const codes = [...byCode.keys()];
  for await (const chunk of chunksOf(codes)) {
    const rows = await db
      .selectFrom("link_tags")
      .select(["code", "tag"])
      .where("code", "in", chunk)
      .orderBy("tag")
      .execute();
    for (const row of rows) byCode.get(row.code)!.tags.push(row.tag);
  }
  return links;
}

/** Whether two tag lists hold the same tags (each list is unique; the database's order may differ from JS's). */
export function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((tag) => set.has(tag));
}

/** Replaces the tags of the written links. */
export async function writeTags(links: readonly LinkWrite[], db: Db): Promise<void> {
  for await (const chunk of chunksOf(links)) {
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
export async function tagCounts(db: Db): Promise<{ tag: string; count: number }[]> {
  const rows = await db
    .selectFrom("link_tags")
    .select(["tag", (eb) => eb.fn.countAll<number>().as("count")])
    .groupBy("tag")
    .orderBy("tag")
    .execute();
  return rows.map((r) => ({ tag: r.tag, count: Number(r.count) }));
}

/** The codes of the links carrying `tag`. */
export async function codesTagged(tag: string, db: Db): Promise<string[]> {
  const rows = await db.selectFrom("link_tags").select("code").where("tag", "=", tag).execute();
  return rows.map((r) => r.code);
}

/**
 * Renames a tag on every link that has it (merging into `to` where it is already present), or removes it
 * (`to` null); bumps those links' revision so their ETags change. Returns the codes touched.
 */
export async function retag(from: string, to: string | null, now: number, db: Db): Promise<string[]> {
  const codes = await codesTagged(from, db);
  if (codes.length === 0) return codes;
  for await (const chunk of chunksOf(codes)) {
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
