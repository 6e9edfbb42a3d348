/**
 * API keys for machines: named, scoped, optionally expiring, rotatable with a grace period, revocable. Tokens
 * (`jmp_…`, see api-key-format.ts) are shown once; only their SHA-256 is stored. Verification looks digests up
 * through an instance-local cache; every key change publishes a `keys` event on the change feed, which clears
 * that cache on every instance, so a revocation is honoured everywhere within a second.
 *
 * The bootstrap keys from the environment are listed alongside as read-only entries (`source: "env"`). The
 * rules this service applies (names, expiries, views, who may act on which key) are in api-key-rules.ts.
 */
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import type { AuditContext, AuditLog } from "../audit/log.js";
import {
  AppError,
  type FieldError,
  insufficientScope,
  invalidScope,
  keyManaged,
  keyNameTaken,
  keyNotFound,
  keyTokenTaken,
  managedByEnvironment,
  preconditionFailed,
  validationFailed,
} from "../errors.js";
import type { ChangeFeed } from "../events/feed.js";
import { parseRfc3339 } from "../util/time.js";
import { Managed } from "../util/ownership.js";
import type { DocumentKey } from "../provision/document.js";
import {
  type Change,
  type FieldDiff,
  pruneReason,
  type SectionOptions,
  type SectionPlan,
} from "../provision/plan.js";
import { isUniqueViolation } from "../store/db.js";
import type { Transaction } from "kysely";
import type { KeyRow, KeysStore } from "../store/keys-store.js";
import type { Database } from "../store/schema.js";
import { generateApiKey, isWellFormedApiKey, sha256Hex } from "./api-key-format.js";
import {
  DIGEST,
  digestDisplay,
  TOKEN_TAKEN,
  etagOf,
  iso,
  type KeyInput,
  type KeyView,
  listedWithOtherDigest,
  newKeyRow,
  parseScopes,
  requireHeld,
  revokedFields,
  scopesBeyond,
  validDescription,
  validExpiry,
  validName,
  view,
} from "./api-key-rules.js";
import type { BootstrapKey } from "./bootstrap.js";
import { actorOf, type Principal } from "./credentials.js";
import { hasScope, isScope, normalizeScopes, type Scope } from "./scopes.js";

const MAX_GRACE_SECONDS = 86_400;
/** `last_used_at` is written at most this often per key. */
const TOUCH_EVERY_MS = 60_000;
const CACHE_TTL_MS = 30_000;

export interface BootstrapPolicy {
  keys: readonly BootstrapKey[];
  scopes: readonly Scope[];
  expiresAt: number | null;
}

export class KeyService {
  private readonly cache = new LRUCache<string, CacheEntry>({
    max: 10_000,
    ttl: CACHE_TTL_MS,
  });
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: KeysStore,
    private readonly feed: ChangeFeed,
    private readonly bootstrap: BootstrapPolicy,
    private readonly log: Logger,
    private readonly audit: AuditLog,
    private readonly clock: () => number = Date.now,
  ) {
    feed.subscribe((event) => {
      if (event.kind === "keys") this.cache.clear();
    });
  }

  /** The principal for a `jmp_` token, or null (unknown, malformed, revoked or expired: all alike). */
  async verify(token: string): Promise<Principal | null> {
    if (!isWellFormedApiKey(token)) return null;
    const digest = sha256Hex(token);
    const now = this.clock();
    let entry = this.cache.get(digest);
    if (!entry) {
      entry = toCacheEntry(await this.store.byDigest(digest, now), digest);
      this.cache.set(digest, entry);
    }
    const { principal, validUntil } = entry;
    if (principal?.kind !== "api_key" || validUntil <= now) return null;
    this.touch(principal.id, now);
    return principal;
  }

  list(includeRevoked: boolean): Promise<KeyView[]> {
    return this.store.list(includeRevoked).then((rows) => [...this.bootstrapViews(), ...rows.map(view)]);
  }

  async get(id: string): Promise<{ key: KeyView; etag: string }> {
    const bootstrap = this.bootstrapViews().find((k) => k.id === id);
    if (bootstrap) return { key: bootstrap, etag: `"${id}"` };
    const row = await this.store.get(id);
    if (!row || row.revoked_at !== null) throw keyNotFound();
    return { key: view(row), etag: etagOf(row) };
  }

  async create(
    input: KeyInput,
    by: Principal,
    context: AuditContext,
  ): Promise<{ key: KeyView; etag: string; token: string }> {
    const name = validName(input.name);
    const scopes = this.grantable(input.scopes, by);
    const expiresAt = validExpiry(input, this.clock());
    const token = generateApiKey();
    const row = newKeyRow({
      name,
      digest: sha256Hex(token),
      display: `${token.slice(0, 8)}…${token.slice(-4)}`,
      scopes,
      description: validDescription(input.description),
      expiresAt,
      createdBy: actorOf(by),
      now: this.clock(),
    });
    await this.insert(row, context);
    return { key: view(row), etag: etagOf(row), token };
  }

  /**
   * Idempotent create-or-update by name with a client-supplied digest: automation never receives a secret.
   * `changed` is false when the key already matched (nothing written). Identical requests racing each other (two
   * instances, one Terraform run retried) all succeed: the one whose insert loses finds the winner's key and
   * compares against it.
   */
  async putByName(
    name: string,
    input: KeyInput & { token_sha256?: string },
    by: Principal,
    context: AuditContext,
  ) {
    validName(name);
    const digest = DIGEST.exec(input.token_sha256 ?? "")?.[1];
    if (!digest)
      throw validationFailed("token_sha256 must be 64 lowercase hex digits (the SHA-256 of the token)");
    const wanted = {
      name,
      digest,
      scopes: this.grantable(input.scopes, by),
      expiresAt: validExpiry(input, this.clock()),
      description: validDescription(input.description),
    };
    for (let attempt = 1; ; attempt++) {
      const existing = await this.store.byActiveName(name);
      if (existing) return this.putExisting(existing, wanted, by, context);
      const row = newKeyRow({ ...wanted, createdBy: actorOf(by), now: this.clock() });
      try {
        await this.insertAudited(row, context);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // Lost a race for the name: compare with the key that won (at most twice more).
        if (attempt < 3 && (await this.store.byActiveName(name))) continue;
        throw await this.conflict(name, digest);
      }
      await this.published(row.id);
      return { key: view(row), etag: etagOf(row), created: true, changed: true };
    }
  }

  private async putExisting(
    existing: KeyRow,
    wanted: { digest: string; scopes: Scope[]; expiresAt: number | null; description: string | null },
    by: Principal,
    context: AuditContext,
  ) {
    const { digest, scopes, expiresAt, description } = wanted;
    const same =
      existing.token_sha256 === digest &&
      existing.scopes === JSON.stringify(scopes) &&
      existing.description === description &&
      (existing.expires_at === null ? null : Number(existing.expires_at)) === expiresAt;
    if (same) {
      const { key, etag } = await this.get(existing.id);
      return { key, etag, created: false, changed: false };
    }
    if (existing.source === Managed.File) throw keyManaged(existing.name);
    requireHeld(existing, by);
    const changes = {
      token_sha256: digest,
      active_sha256: digest,
      display: existing.token_sha256 === digest ? existing.display : digestDisplay(digest),
      scopes: JSON.stringify(scopes),
      description,
      expires_at: expiresAt,
      updated_at: this.clock(),
    };
    try {
      await this.store.transaction(async (trx) => {
        if (!(await this.store.update(existing.id, changes, undefined, trx))) throw keyNotFound();
        await this.audit.recordIn(
          trx,
          {
            action: "key.update",
            objectType: "key",
            objectId: existing.id,
            before: view(existing),
            after: view({ ...existing, ...changes }),
          },
          context,
        );
      });
    } catch (err) {
      throw isUniqueViolation(err) ? await this.conflict(existing.name, digest) : err;
    }
    await this.published(existing.id);
    const { key, etag } = await this.get(existing.id);
    return { key, etag, created: false, changed: true };
  }

  async update(
    id: string,
    input: KeyInput,
    ifMatch: string | undefined,
    by: Principal,
    context: AuditContext,
  ) {
    const row = await this.mutable(id, by);
    if (ifMatch !== undefined && ifMatch !== etagOf(row)) {
      throw preconditionFailed("The key has changed since it was read (ETag mismatch)");
    }
    const changes: Partial<KeyRow> = { updated_at: this.clock() };
    if (input.name !== undefined) changes.name = changes.active_name = validName(input.name);
    if (input.scopes !== undefined) changes.scopes = JSON.stringify(this.grantable(input.scopes, by));
    if (input.description !== undefined) changes.description = validDescription(input.description);
    if (input.expires_at !== undefined || input.expires_in !== undefined)
      changes.expires_at = validExpiry(input, this.clock());
    try {
      await this.store.transaction(async (trx) => {
        if (!(await this.store.update(id, changes, Number(row.revision), trx))) {
          throw preconditionFailed("The key changed during the update; read it again");
        }
        await this.audit.recordIn(
          trx,
          {
            action: "key.update",
            objectType: "key",
            objectId: id,
            before: view(row),
            after: view({ ...row, ...changes }),
          },
          context,
        );
      });
    } catch (err) {
      throw isUniqueViolation(err) ? await this.conflict(changes.name ?? row.name, row.token_sha256) : err;
    }
    await this.published(id);
    return this.get(id);
  }

  async rotate(id: string, graceSeconds: number, by: Principal, context: AuditContext) {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
      throw validationFailed(`grace_seconds must be an integer from 0 to ${MAX_GRACE_SECONDS}`);
    }
    const row = await this.mutable(id, by);
    const token = generateApiKey();
    const now = this.clock();
    const changes = {
      token_sha256: sha256Hex(token),
      active_sha256: sha256Hex(token),
      display: `${token.slice(0, 8)}…${token.slice(-4)}`,
      previous_sha256: graceSeconds > 0 ? row.token_sha256 : null,
      previous_valid_until: graceSeconds > 0 ? now + graceSeconds * 1000 : null,
      updated_at: now,
    };
    await this.store.transaction(async (trx) => {
      await this.store.update(id, changes, undefined, trx);
      await this.audit.recordIn(
        trx,
        { action: "key.rotate", objectType: "key", objectId: id, after: { grace_seconds: graceSeconds } },
        context,
      );
    });
    await this.published(id);
    return { ...(await this.get(id)), token };
  }

  async revoke(id: string, by: Principal, context: AuditContext): Promise<void> {
    const row = await this.mutable(id, by);
    const now = this.clock();
    await this.store.transaction(async (trx) => {
      await this.store.update(id, revokedFields(actorOf(by), now), undefined, trx);
      await this.audit.recordIn(
        trx,
        { action: "key.revoke", objectType: "key", objectId: id, before: view(row) },
        context,
      );
    });
    await this.published(id);
  }

  /** The scopes a caller asked for, checked: known, non-empty, and held by the caller (no escalation). */
  private grantable(requested: string[] | undefined, by: Principal): Scope[] {
    if (!requested || requested.length === 0) {
      throw invalidScope("scopes must list at least one scope");
    }
    const unknown = requested.filter((s) => !isScope(s));
    if (unknown.length > 0) {
      throw invalidScope(`Unknown scope(s): ${unknown.join(", ").slice(0, 200)}`);
    }
    const scopes = normalizeScopes(requested as Scope[]);
    const beyond = scopes.filter((scope) => !hasScope(by.scopes, scope));
    if (beyond.length > 0) {
      throw insufficientScope(`You cannot grant scope(s) you do not hold: ${beyond.join(", ")}`);
    }
    return scopes;
  }

  /**
   * The stored key a caller may act on: active, not set by the environment or the provisioning file, and with
   * no scope the caller lacks — `keys:manage` alone must not rotate, revoke or rename an admin key (that would
   * hand its holder an admin token, or take one away from its owner).
   */
  private async mutable(id: string, by: Principal): Promise<KeyRow> {
    if (this.bootstrapViews().some((k) => k.id === id)) {
      throw managedByEnvironment("This key is set by JMP_BOOTSTRAP_API_KEY; change the environment instead");
    }
    const row = await this.store.get(id);
    if (!row || row.revoked_at !== null) throw keyNotFound();
    if (row.source === Managed.File) throw keyManaged(row.name);
    requireHeld(row, by);
    return row;
  }

  /** Inserts a new key with its audit entry (one transaction), then tells every instance. */
  private async insert(row: KeyRow, context: AuditContext): Promise<void> {
    try {
      await this.insertAudited(row, context);
    } catch (err) {
      // Outside the transaction: on SQLite its one connection is free again only once it has ended.
      throw isUniqueViolation(err) ? await this.conflict(row.name, row.token_sha256) : err;
    }
    await this.published(row.id);
  }

  /** The key row and its audit entry, in one transaction; a unique violation is the caller's to explain. */
  private insertAudited(row: KeyRow, context: AuditContext): Promise<void> {
    return this.store.transaction(async (trx) => {
      await this.store.insert(row, trx);
      await this.audit.recordIn(
        trx,
        { action: "key.create", objectType: "key", objectId: row.id, after: view(row) },
        context,
      );
    });
  }

  /** Which unique rule a failed write broke: the name, or the token (another active key has the digest). */
  private async conflict(name: string, digest: string): Promise<AppError> {
    const byName = await this.store.byActiveName(name);
    const byDigest = byName ? undefined : await this.store.byActiveDigest(digest);
    const error = byDigest ? keyTokenTaken(TOKEN_TAKEN) : keyNameTaken(name);
    error.details = { existing_id: (byName ?? byDigest)?.id ?? null };
    return error;
  }

  private bootstrapViews(): KeyView[] {
    return this.bootstrap.keys.map((key) => ({
      id: `bootstrap:${key.fingerprint}`,
      name: `bootstrap:${key.fingerprint}`,
      display: `sha256:${key.fingerprint}…`,
      scopes: [...this.bootstrap.scopes],
      description: "Set by JMP_BOOTSTRAP_API_KEY (read-only here)",
      expires_at: iso(this.bootstrap.expiresAt),
      created_at: null,
      created_by: null,
      last_used_at: null,
      revoked_at: null,
      source: "env",
    }));
  }

  private touch(id: string, now: number): void {
    if (now - (this.touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    this.store
      .touch(id, now)
      .catch((err) => this.log.warn({ err, key: id }, "could not record last_used_at"));
  }

  /** The active keys stored in the database, as an apply document lists them (by digest, never a token). */
  async exportable(): Promise<DocumentKey[]> {
    const rows = await this.store.list(false);
    return rows.map((row) => ({
      name: row.name,
      token_sha256: row.token_sha256,
      scopes: parseScopes(row.scopes),
      ...(row.description === null ? {} : { description: row.description }),
      ...(row.expires_at === null ? {} : { expires_at: iso(row.expires_at)! }),
    }));
  }

  /**
   * The API-keys part of an apply (see LinkService.planState): keys are matched by name among active keys; the
   * document gives the token's SHA-256, never the token. With `prune`, the owner's keys it omits are revoked.
   */
  async planState(
    items: readonly DocumentKey[],
    options: SectionOptions,
    by: Principal,
    db: Transaction<Database> | undefined,
  ): Promise<SectionPlan> {
    const now = this.clock();
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
      const scopes = check("scopes", () => this.grantable(item.scopes, by));
      const description = check("description", () => validDescription(item.description));
      const expiresAt = item.expires_at ? parseRfc3339(item.expires_at) : null;
      if (expiresAt === null && item.expires_at) {
        check("expires_at", () => {
          throw validationFailed("must be an RFC 3339 time (e.g. 2030-01-01T00:00:00Z)");
        });
      }
      if (errors.length > problems || !digest || !scopes || description === undefined) continue;

      const existing = await this.store.byActiveName(item.name, db);
      const seen = digests.get(digest);
      if (seen !== undefined) {
        errors.push({ field: `keys[${i}].token_sha256`, message: `the same token as keys[${seen}]` });
        continue;
      }
      digests.set(digest, i);
      // Another active key holding this digest, and not listed with a new one: the API refuses, the file takes
      // the token over (it is the source of truth, and must never be kept from starting by stored state).
      const holder = await this.store.byActiveDigest(digest, db);
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
          reason: `its token is declared by the provisioning file as '${item.name}'`,
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
            createdBy: actorOf(by),
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
      const beyond = scopesBeyond(existing, by);
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
      for (const row of await this.store.activeFrom(options.prunable, db)) {
        if (listed.has(row.name) || displaced.some((d) => d.id === row.id)) continue;
        const field = `keys (prune '${row.name}')`;
        if (by.kind === "api_key" && by.id === row.id) {
          errors.push({
            field,
            message: "would revoke the key this request is made with; list it or revoke it yourself",
          });
          continue;
        }
        const beyond = scopesBeyond(row, by);
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
          await this.store.update(row.id, revokedFields(actorOf(by), at), undefined, trx);
        }
        for (const { id, movesToken } of updates) {
          if (movesToken) await this.store.update(id, { active_sha256: null }, undefined, trx);
        }
        for (const { id, changes: set } of updates) await this.store.update(id, set, undefined, trx);
        for (const row of inserts) await this.store.insert(row, trx);
      },
      committed: async () => {
        if (ids.length > 0) await this.feed.publish({ kind: "keys", ids });
      },
    };
  }

  private published(id: string): Promise<void> {
    return this.feed.publish({ kind: "keys", ids: [id] });
  }
}

interface CacheEntry {
  principal: Principal | null;
  /** When this token stops working: the key's expiry, or the end of the grace period for a rotated-out token. */
  validUntil: number;
}

function toCacheEntry(row: KeyRow | undefined, digest: string): CacheEntry {
  if (!row) return { principal: null, validUntil: 0 };
  const expiresAt = row.expires_at === null ? null : Number(row.expires_at);
  const graceEnd = row.token_sha256 === digest ? Number.POSITIVE_INFINITY : Number(row.previous_valid_until);
  return {
    principal: { kind: "api_key", id: row.id, name: row.name, scopes: parseScopes(row.scopes), expiresAt },
    validUntil: Math.min(expiresAt ?? Number.POSITIVE_INFINITY, graceEnd),
  };
}
