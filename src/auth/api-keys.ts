/**
 * API keys for machines: named, scoped, optionally expiring, rotatable with a grace period, revocable. Tokens
 * (`jmp_…`, see api-key-format.ts) are shown once; only their SHA-256 is stored. Every key change publishes a
 * `keys` event on the change feed, which clears the verifier's cache (key-verifier.ts) on every instance, so a
 * revocation is honoured everywhere within a second.
 *
 * The bootstrap keys from the environment are listed alongside as read-only entries (`source: "env"`). The
 * rules this service applies (names, expiries, views, who may act on which key) are in api-key-rules.ts.
 */
import type { AuditContext, AuditLog } from "../audit/log.js";
import {
  AppError,
  keyManaged,
  keyNameTaken,
  keyNotFound,
  keyTokenTaken,
  managedByEnvironment,
  preconditionFailed,
  validationFailed,
} from "../errors.js";
import type { ChangeFeed } from "../events/feed.js";
import { Managed } from "../util/ownership.js";
import { isUniqueViolation } from "../store/db.js";
import type { KeyRow, KeysStore } from "../store/keys-store.js";
import { generateApiKey, sha256Hex } from "./api-key-format.js";
import {
  DIGEST,
  digestDisplay,
  TOKEN_TAKEN,
  etagOf,
  grantableScopes,
  iso,
  type KeyInput,
  type KeyView,
  newKeyRow,
  requireHeld,
  revokedFields,
  validDescription,
  validExpiry,
  validName,
  view,
} from "./api-key-rules.js";
import type { BootstrapKey } from "./bootstrap.js";
import { actorOf, type Principal } from "./credentials.js";
import type { Scope } from "./scopes.js";

const MAX_GRACE_SECONDS = 86_400;

export interface BootstrapPolicy {
  keys: readonly BootstrapKey[];
  scopes: readonly Scope[];
  expiresAt: number | null;
}

export class KeyService {
  constructor(
    private readonly store: KeysStore,
    private readonly feed: ChangeFeed,
    private readonly bootstrap: BootstrapPolicy,
    private readonly audit: AuditLog,
    private readonly clock: () => number = Date.now,
  ) {}

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
    caller: Principal,
    by: AuditContext,
  ): Promise<{ key: KeyView; etag: string; token: string }> {
    const name = validName(input.name);
    const scopes = grantableScopes(input.scopes, caller);
    const expiresAt = validExpiry(input, this.clock());
    const token = generateApiKey();
    const row = newKeyRow({
      name,
      digest: sha256Hex(token),
      display: `${token.slice(0, 8)}…${token.slice(-4)}`,
      scopes,
      description: validDescription(input.description),
      expiresAt,
      createdBy: actorOf(caller),
      now: this.clock(),
    });
    await this.insert(row, by);
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
    caller: Principal,
    by: AuditContext,
  ) {
    validName(name);
    const digest = DIGEST.exec(input.token_sha256 ?? "")?.[1];
    if (!digest)
      throw validationFailed("token_sha256 must be 64 lowercase hex digits (the SHA-256 of the token)");
    const wanted = {
      name,
      digest,
      scopes: grantableScopes(input.scopes, caller),
      expiresAt: validExpiry(input, this.clock()),
      description: validDescription(input.description),
    };
    for (let attempt = 1; ; attempt++) {
      const existing = await this.store.byActiveName(name);
      if (existing) return this.putExisting(existing, wanted, caller, by);
      const row = newKeyRow({ ...wanted, createdBy: actorOf(caller), now: this.clock() });
      try {
        await this.insertAudited(row, by);
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
    caller: Principal,
    by: AuditContext,
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
    requireHeld(existing, caller);
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
          by,
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
    caller: Principal,
    by: AuditContext,
  ) {
    const row = await this.mutable(id, caller);
    if (ifMatch !== undefined && ifMatch !== etagOf(row)) {
      throw preconditionFailed("The key has changed since it was read (ETag mismatch)");
    }
    const changes: Partial<KeyRow> = { updated_at: this.clock() };
    if (input.name !== undefined) changes.name = changes.active_name = validName(input.name);
    if (input.scopes !== undefined) changes.scopes = JSON.stringify(grantableScopes(input.scopes, caller));
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
          by,
        );
      });
    } catch (err) {
      throw isUniqueViolation(err) ? await this.conflict(changes.name ?? row.name, row.token_sha256) : err;
    }
    await this.published(id);
    return this.get(id);
  }

  async rotate(id: string, graceSeconds: number, caller: Principal, by: AuditContext) {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
      throw validationFailed(`grace_seconds must be an integer from 0 to ${MAX_GRACE_SECONDS}`);
    }
    const row = await this.mutable(id, caller);
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
        by,
      );
    });
    await this.published(id);
    return { ...(await this.get(id)), token };
  }

  async revoke(id: string, caller: Principal, by: AuditContext): Promise<void> {
    const row = await this.mutable(id, caller);
    const now = this.clock();
    await this.store.transaction(async (trx) => {
      await this.store.update(id, revokedFields(actorOf(caller), now), undefined, trx);
      await this.audit.recordIn(
        trx,
        { action: "key.revoke", objectType: "key", objectId: id, before: view(row) },
        by,
      );
    });
    await this.published(id);
  }

  /**
   * The stored key a caller may act on: active, not set by the environment or the provisioning file, and with
   * no scope the caller lacks — `keys:manage` alone must not rotate, revoke or rename an admin key (that would
   * hand its holder an admin token, or take one away from its owner).
   */
  private async mutable(id: string, caller: Principal): Promise<KeyRow> {
    if (this.bootstrapViews().some((k) => k.id === id)) {
      throw managedByEnvironment(
        "This key is set caller JMP_BOOTSTRAP_API_KEY; change the environment instead",
      );
    }
    const row = await this.store.get(id);
    if (!row || row.revoked_at !== null) throw keyNotFound();
    if (row.source === Managed.File) throw keyManaged(row.name);
    requireHeld(row, caller);
    return row;
  }

  /** Inserts a new key with its audit entry (one transaction), then tells every instance. */
  private async insert(row: KeyRow, by: AuditContext): Promise<void> {
    try {
      await this.insertAudited(row, by);
    } catch (err) {
      // Outside the transaction: on SQLite its one connection is free again only once it has ended.
      throw isUniqueViolation(err) ? await this.conflict(row.name, row.token_sha256) : err;
    }
    await this.published(row.id);
  }

  /** The key row and its audit entry, in one transaction; a unique violation is the caller's to explain. */
  private insertAudited(row: KeyRow, by: AuditContext): Promise<void> {
    return this.store.transaction(async (trx) => {
      await this.store.insert(row, trx);
      await this.audit.recordIn(
        trx,
        { action: "key.create", objectType: "key", objectId: row.id, after: view(row) },
        by,
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
      description: "Set caller JMP_BOOTSTRAP_API_KEY (read-only here)",
      expires_at: iso(this.bootstrap.expiresAt),
      created_at: null,
      created_by: null,
      last_used_at: null,
      revoked_at: null,
      source: "env",
    }));
  }

  private published(id: string): Promise<void> {
    return this.feed.publish({ kind: "keys", ids: [id] });
  }
}
