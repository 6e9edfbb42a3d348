/**
 * The API-keys section of an apply, and the keys of an export. Checked with the same rules as the keys routes
 * (auth/api-key-rules.ts), including "only act on a key whose every scope the caller holds".
 */
import type { Principal } from "../../auth/credentials.js";
import { actorOf } from "../../auth/credentials.js";
import {
  DIGEST,
  digestDisplay,
  grantableScopes,
  iso,
  newKeyRow,
  parseScopes,
  revokedFields,
  scopesBeyond,
  TOKEN_TAKEN,
  validDescription,
  validName,
} from "../../auth/api-key-rules.js";
import { AppError, type FieldError, keyManaged, validationFailed } from "../../errors.js";
import type { ChangeFeed } from "../../events/feed.js";
import type { Db } from "../../store/db.js";
import type { KeyRow, KeysStore } from "../../store/keys-store.js";
import { Managed } from "../../util/ownership.js";
import { parseRfc3339 } from "../../util/time.js";
import type { DocumentKey } from "../document.js";
import { type Change, type FieldDiff, pruneReason, type SectionOptions, type SectionPlan } from "../plan.js";

export interface KeySectionContext {
  store: KeysStore;
  feed: ChangeFeed;
  /** Who applies: the scopes it may grant and the keys it may touch. */
  caller: Principal;
  /** The apply transaction (undefined for a dry run). */
  db: Db | undefined;
  now: number;
}

/**
 * The API-keys part of an apply (see sections/links.ts): keys are matched by name among active keys; the
 * document gives the token's SHA-256, never the token. With `prune`, the owner's keys it omits are revoked.
 */
export async function planKeys(
  items: readonly DocumentKey[],
  options: SectionOptions,
  context: KeySectionContext,
): Promise<SectionPlan> {
  const { store, feed, caller, db, now } = context;
  const source = options.tag;
  const errors: FieldError[] = [];
  const changes: Change[] = [];
  const inserts: KeyRow[] = [];
  const updates: { id: string; changes: Partial<KeyRow>; movesToken: boolean }[] = [];
  /** Keys whose token the provisioning file declares under another name: revoked first. */
  const displaced: KeyRow[] = [];
  const digests = new Map<string, number>();
  let unchanged = 0;
  for (const [i, item] of items.entries()) {
    const problems = errors.length;
    const check = <T>(field: string, fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        errors.push({ field: `keys[${i}].${field}`, message: err.message });
        return undefined;
      }
    };
    check("name", () => validName(item.name));
    const digest = DIGEST.exec(item.token_sha256)?.[1];
    if (!digest)
      check("token_sha256", () => {
        throw validationFailed("must be 64 lowercase hex digits (the SHA-256 of the token)");
      });
    const scopes = check("scopes", () => grantableScopes(item.scopes, caller));
    const description = check("description", () => validDescription(item.description));
    const expiresAt = item.expires_at ? parseRfc3339(item.expires_at) : null;
    if (expiresAt === null && item.expires_at) {
      check("expires_at", () => {
        throw validationFailed("must be an RFC 3339 time (e.g. 2030-01-01T00:00:00Z)");
      });
    }
    if (errors.length > problems || !digest || !scopes || description === undefined) continue;

    const existing = await store.byActiveName(item.name, db);
    const seen = digests.get(digest);
    if (seen !== undefined) {
      errors.push({ field: `keys[${i}].token_sha256`, message: `the same token as keys[${seen}]` });
      continue;
    }
    digests.set(digest, i);
    // Another active key holding this digest, and not listed with a new one: the API refuses, the file takes
    // the token over (it is the source of truth, and must never be kept from starting by stored state).
    const holder = await store.byActiveDigest(digest, db);
    if (holder && holder.id !== existing?.id && !listedWithOtherDigest(items, holder, digest)) {
      if (options.owner === "api") {
        errors.push({ field: `keys[${i}].token_sha256`, message: `${TOKEN_TAKEN} ('${holder.name}')` });
        continue;
      }
      displaced.push(holder);
      changes.push({
        kind: "key",
        id: holder.name,
        action: "delete",
        diff: {},
        reason: `its token is declared caller the provisioning file as '${item.name}'`,
      });
    }
    const wanted = {
      token_sha256: digest,
      active_sha256: digest,
      scopes: JSON.stringify(scopes),
      description,
      expires_at: expiresAt,
    };
    if (!existing) {
      inserts.push({
        ...newKeyRow({
          name: item.name,
          digest,
          scopes,
          description,
          expiresAt,
          createdBy: actorOf(caller),
          now,
        }),
        source,
      });
      changes.push({
        kind: "key",
        id: item.name,
        action: "create",
        diff: { scopes: { from: null, to: scopes } },
      });
      continue;
    }
    const diff: Record<string, FieldDiff> = {};
    if (existing.token_sha256 !== digest) {
      diff.token_sha256 = { from: `${existing.token_sha256.slice(0, 8)}…`, to: `${digest.slice(0, 8)}…` };
    }
    if (existing.scopes !== wanted.scopes) diff.scopes = { from: parseScopes(existing.scopes), to: scopes };
    if (existing.description !== description)
      diff.description = { from: existing.description, to: description };
    const currentExpiry = existing.expires_at === null ? null : Number(existing.expires_at);
    if (currentExpiry !== expiresAt) diff.expires_at = { from: iso(currentExpiry), to: iso(expiresAt) };
    // As for links: the file takes over what it lists; an API apply never changes an owner.
    const adopts = options.owner === "file";
    if (adopts && existing.source !== source) diff.source = { from: existing.source, to: source };
    if (Object.keys(diff).length === 0) {
      unchanged++;
      continue;
    }
    if (options.owner === "api" && existing.source === Managed.File) {
      errors.push({ field: `keys[${i}].name`, message: keyManaged(item.name).message });
      continue;
    }
    const beyond = scopesBeyond(existing, caller);
    if (beyond.length > 0) {
      errors.push({
        field: `keys[${i}].name`,
        message: `the key has scope(s) you do not hold: ${beyond.join(", ")}`,
      });
      continue;
    }
    updates.push({
      id: existing.id,
      changes: {
        ...wanted,
        display: existing.token_sha256 === digest ? existing.display : digestDisplay(digest),
        updated_at: now,
        ...(adopts ? { source } : {}),
      },
      movesToken: existing.token_sha256 !== digest,
    });
    changes.push({ kind: "key", id: item.name, action: "update", diff });
  }

  const revokes: KeyRow[] = [];
  if (options.prune) {
    const listed = new Set(items.map((item) => item.name));
    for (const row of await store.activeFrom(options.prunable, db)) {
      if (listed.has(row.name) || displaced.some((d) => d.id === row.id)) continue;
      const field = `keys (prune '${row.name}')`;
      if (caller.kind === "api_key" && caller.id === row.id) {
        errors.push({
          field,
          message: "would revoke the key this request is made with; list it or revoke it yourself",
        });
        continue;
      }
      const beyond = scopesBeyond(row, caller);
      if (beyond.length > 0) {
        errors.push({ field, message: `the key has scope(s) you do not hold: ${beyond.join(", ")}` });
        continue;
      }
      revokes.push(row);
      changes.push({
        kind: "key",
        id: row.name,
        action: "delete",
        diff: {},
        reason: pruneReason(row.source),
      });
    }
  }

  revokes.push(...displaced);
  const ids = [...inserts.map((r) => r.id), ...updates.map((u) => u.id), ...revokes.map((r) => r.id)];
  return {
    changes,
    unchanged,
    errors,
    write: async (trx, at) => {
      // Free every digest that moves before any key takes one (keys may trade tokens in one document).
      for (const row of revokes) {
        await store.update(row.id, revokedFields(actorOf(caller), at), undefined, trx);
      }
      for (const { id, movesToken } of updates) {
        if (movesToken) await store.update(id, { active_sha256: null }, undefined, trx);
      }
      for (const { id, changes: set } of updates) await store.update(id, set, undefined, trx);
      for (const row of inserts) await store.insert(row, trx);
    },
    committed: async () => {
      if (ids.length > 0) await feed.publish({ kind: "keys", ids });
    },
  };
}

/** The active keys stored in the database, as an apply document lists them (by digest, never a token). */
export async function exportKeys(store: KeysStore): Promise<DocumentKey[]> {
  const rows = await store.list(false);
  return rows.map((row) => ({
    name: row.name,
    token_sha256: row.token_sha256,
    scopes: parseScopes(row.scopes),
    ...(row.description === null ? {} : { description: row.description }),
    ...(row.expires_at === null ? {} : { expires_at: iso(row.expires_at)! }),
  }));
}

/** Is `holder` in the document under its own name, with a digest other than `digest` (so it gives it up)? */
function listedWithOtherDigest(items: readonly DocumentKey[], holder: KeyRow, digest: string): boolean {
  const listed = items.find((item) => item.name === holder.name);
  return listed !== undefined && DIGEST.exec(listed.token_sha256)?.[1] !== digest;
}
