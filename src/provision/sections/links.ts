/**
 * The links section of an apply: compares the document's links with the database and returns what would change,
 * checked with the same rules as the Admin API (links/write-rules.ts).
 */
import { AppError, type FieldError, linkManaged } from "../../errors.js";
import type { ChangeFeed } from "../../events/feed.js";
import { isLocked, type LinkWrite } from "../../links/model.js";
import { DEFAULT_SETTINGS, pickSettings, resolveSettings, settingsDiff } from "../../links/settings.js";
import { iso, type LinkWriteRules, messageOf, passwordHash, validTarget } from "../../links/write-rules.js";
import type { Db } from "../../store/db.js";
import type { LinksStore } from "../../store/links-store.js";
import { REDACTED } from "../../text.js";
import { parseRfc3339 } from "../../util/time.js";
import type { DocumentLink } from "../document.js";
import { type Change, type FieldDiff, pruneReason, type SectionOptions, type SectionPlan } from "../plan.js";

export interface LinkSectionContext {
  store: LinksStore;
  rules: LinkWriteRules;
  feed: ChangeFeed;
  /** The apply transaction (or the database, for a dry run). */
  db: Db;
  now: number;
}

/**
 * The links part of an apply: compares the document's links with the database (`db`: the apply transaction)
 * and returns what would change. A document link is the whole link: absent `expires_at`/`password` mean none;
 * `[REDACTED]` keeps the current password. With `prune`, the owner's links the document omits are deleted.
 */
export async function planLinks(
  items: readonly DocumentLink[],
  options: SectionOptions,
  context: LinkSectionContext,
): Promise<SectionPlan> {
  const { store, rules, feed, now } = context;
  const owner = options.tag;
  const current = await store.getMany(
    items.map((item) => item.code),
    context.db,
  );
  const errors: FieldError[] = [];
  const changes: Change[] = [];
  const inserts: LinkWrite[] = [];
  const updates: LinkWrite[] = [];
  let unchanged = 0;
  for (const [i, item] of items.entries()) {
    const at = (field: string) => `links[${i}].${field}`;
    const problems = errors.length;
    const fail = (field: string, err: unknown) => errors.push({ field: at(field), message: messageOf(err) });
    let target = "";
    let expiresAt: number | null = null;
    let settings = DEFAULT_SETTINGS;
    try {
      rules.validCode(item.code);
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
    const samePassword = await rules.samePassword(existing?.passwordHash ?? null, password);
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
    for (const { code, managedBy } of await store.codesOwnedBy(options.prunable, context.db)) {
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
      await store.insertMany(inserts, at, trx);
      for (const link of updates) await store.update(link, at, trx);
      await store.deleteMany(deletes, trx);
    },
    committed: () =>
      feed.publishLinks([...inserts.map((l) => l.code), ...updates.map((l) => l.code), ...deletes]),
  };
}
