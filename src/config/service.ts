/**
 * Runtime configuration: a typed in-memory snapshot of every registry key, backed by the `runtime_config` table.
 * Reads never touch the database. Writes validate through the registry, hash secrets, record history with the
 * actor and publish a change event; instances that receive a config event from another process (another
 * instance, the CLI) re-read the table, so every change applies everywhere without a restart.
 *
 * A key may be pinned (by `JMP_CONFIG_<KEY>`, `JMP_ADMIN_PASSWORD`, or the provisioning file): the pinned
 * value wins over the database, reads back with its source, and cannot be changed through the service.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { hashPassword, hashProblem, isArgon2idHash, verifyPassword } from "../util/password.js";
import type { AuditContext, AuditLog } from "../audit/log.js";
import type { ChangeFeed } from "../events/feed.js";
import type { Transaction } from "kysely";
import type { Database } from "../store/schema.js";
import type { ConfigStore } from "../store/config-store.js";
import { CONTROL_CHARS, REDACTED } from "../text.js";
import {
  type ConfigKey,
  ConfigValueError,
  type ConfigValues,
  defaultOf,
  definitionOf,
  type KeyDefinition,
  REGISTRY,
  ROUTE_PREFIX_KEYS,
} from "./registry.js";

const SHA256_FORM = /^sha256:[0-9a-f]{64}$/;
/** Values longer than this are refused (no key needs more; keeps the table and history small). */
const MAX_VALUE_LENGTH = 16_384;

export type ConfigSource = "db" | "default" | "env" | "file";
export type PinSource = "env" | "file";

export class ConfigPinnedError extends Error {
  constructor(
    readonly key: string,
    readonly pinSource: PinSource,
  ) {
    super(
      pinSource === "env"
        ? `Config '${key}' is pinned by the environment (JMP_CONFIG_* or JMP_ADMIN_PASSWORD) and cannot be changed here`
        : `Config '${key}' is pinned by the provisioning file and cannot be changed here`,
    );
  }
}

/** What the API shows for one key. Sensitive values are redacted here, once, for every caller. */
export interface ConfigItem {
  key: string;
  value: string;
  value_type: string;
  requires_restart: false;
  is_sensitive: boolean;
  updated_at: string | null;
  source: ConfigSource;
  editable: boolean;
}

export interface HistoryItem {
  id: number;
  config_key: string;
  old_value: string | null;
  new_value: string;
  changed_at: string;
  changed_by: string | null;
}

export function isConfigKey(key: string): key is ConfigKey {
  return definitionOf(key) !== undefined;
}

/** What an apply document's value for one key would do (see `ConfigService.preview`). */
export type ConfigPreview =
  | { ok: false; message: string }
  | {
      ok: true;
      key: ConfigKey;
      /** As it would be stored (hashed for argon2 keys). */
      value: string;
      current: string;
      same: boolean;
      /** The provisioning file pins it (read-only through the API). */
      pins: boolean;
      sensitive: boolean;
    };

export class ConfigService {
  private stored = new Map<string, string>();
  private updatedAt = new Map<string, number>();
  private pins = new Map<string, { value: string; source: PinSource }>();
  private snapshot = {} as ConfigValues;
  /** Defaults resolved once, so a random default (a secret) is the same value for the whole process. */
  private readonly defaults = new Map(REGISTRY.map((d) => [d.key as string, defaultOf(d as KeyDefinition)]));

  constructor(
    private readonly store: ConfigStore,
    private readonly feed: ChangeFeed,
    private readonly log: Logger,
    private readonly audit: AuditLog,
  ) {
    this.rebuild();
  }

  /**
   * Pins a key. `input` is what the operator wrote (validated, and hashed for secrets, here).
   * @throws ConfigValueError when the value is invalid.
   */
  async pin(key: ConfigKey, input: string, source: PinSource): Promise<void> {
    this.pins.set(key, { value: await this.toStored(definitionOf(key)!, input), source });
    this.rebuild();
  }

  /** Inserts missing keys with their defaults (random secrets are generated once, here), then loads. */
  async seed(now: number): Promise<void> {
    for (const definition of REGISTRY) {
      await this.store.insertIfAbsent(definition.key, this.defaults.get(definition.key)!, now);
    }
    await this.reload();
  }

  get<K extends ConfigKey>(key: K): ConfigValues[K] {
    return this.snapshot[key];
  }

  source(key: ConfigKey): ConfigSource {
    const pin = this.pins.get(key);
    if (pin) return pin.source;
    const stored = this.stored.get(key);
    return stored === undefined || stored === this.defaults.get(key) ? "default" : "db";
  }

  /** The route prefixes without their leading slash: codes may not equal or start under them. */
  reservedPrefixes(): string[] {
    return ROUTE_PREFIX_KEYS.map((key) => this.get(key).slice(1));
  }

  /** Every key in registry order. */
  list(): ConfigItem[] {
    return REGISTRY.map((d) => this.describe(d.key));
  }

  describe(key: ConfigKey): ConfigItem {
    const definition = definitionOf(key)!;
    const value = this.pins.get(key)?.value ?? this.stored.get(key) ?? this.defaults.get(key)!;
    const updated = this.updatedAt.get(key);
    return {
      key,
      value: definition.sensitive && value !== "" ? REDACTED : value,
      value_type: definition.type,
      requires_restart: false,
      is_sensitive: definition.sensitive,
      updated_at: updated === undefined ? null : new Date(updated).toISOString(),
      source: this.source(key),
      editable: !this.pins.has(key),
    };
  }

  /**
   * Validates, normalises and stores a value. Secrets are hashed (a value already in hashed form is kept).
   * Returns false when the value was unchanged (nothing is written, no history).
   * @throws ConfigValueError for invalid input, ConfigPinnedError for a pinned key.
   */
  async set(key: ConfigKey, input: string, by: AuditContext, now: number): Promise<boolean> {
    const definition = definitionOf(key)!;
    const pin = this.pins.get(key);
    if (pin) throw new ConfigPinnedError(key, pin.source);
    const current = this.stored.get(key) ?? this.defaults.get(key)!;
    if (definition.storedAs === "argon2" && input !== "" && !isArgon2idHash(input)) {
      // Hashes are salted: compare the password itself to detect "unchanged".
      if (await verifyPassword(current, definition.normalize(input))) return false;
    }
    const value = await this.toStored(definition, input);
    if (value === current) return false;
    this.assertConsistent(key, value);
    const redact = (v: string | null) => (definition.sensitive && v !== null ? REDACTED : v);
    const shown = (v: string) => (definition.sensitive ? REDACTED : v);
    // The value, its history row and its audit entry commit together.
    await this.store.transaction(async (trx) => {
      await this.store.write(
        {
          key,
          value,
          actor: by.actor,
          now,
          historyOld: redact(this.stored.get(key) ?? null),
          historyNew: redact(value) ?? "",
        },
        trx,
      );
      await this.audit.recordIn(
        trx,
        {
          action: "config.set",
          objectType: "config",
          objectId: key,
          before: shown(current),
          after: shown(value),
        },
        by,
      );
    });
    this.stored.set(key, value);
    this.updatedAt.set(key, now);
    this.rebuild();
    await this.feed.publish({ kind: "config", keys: [key] });
    // A new admin password ends every admin session, on every instance.
    if (key === "api.admin_token") await this.set("api.sessions_not_before", String(now), by, now);
    return true;
  }

  /**
   * What applying `input` to `key` from an apply document would do (provision/sections/config.ts plans with it):
   * the value as it would be stored, whether it equals the current one, and whether the file pins it. Values
   * are checked as `set` checks them; a key pinned by someone else cannot change.
   */
  async preview(key: string, raw: string | number | boolean, owner: "api" | "file"): Promise<ConfigPreview> {
    if (!isConfigKey(key)) return { ok: false, message: "unknown config key" };
    const definition = definitionOf(key)!;
    const input = String(raw);
    const pin = this.pins.get(key);
    // The file's values are stored like the API's and pinned on top: a restart with the same file finds them
    // in the database and writes nothing, and a changed value is a normal change with history.
    const ownPin = owner === "file" && pin?.source === "file";
    const current = (ownPin ? undefined : pin?.value) ?? this.stored.get(key) ?? this.defaults.get(key)!;
    let value: string;
    let same: boolean;
    try {
      if (definition.storedAs === "argon2" && input !== "" && !isArgon2idHash(input)) {
        same = await verifyPassword(current, definition.normalize(input));
        value = same ? current : await this.toStored(definition, input);
      } else {
        value = await this.toStored(definition, input);
        same = value === current;
      }
      if (!same) this.assertConsistent(key, value);
    } catch (err) {
      if (!(err instanceof ConfigValueError)) throw err;
      return { ok: false, message: err.message };
    }
    const pinnedElsewhere = pin && (owner === "api" || pin.source === "env");
    if (!same && pinnedElsewhere)
      return { ok: false, message: new ConfigPinnedError(key, pin.source).message };
    return {
      ok: true,
      key,
      value,
      current,
      same,
      pins: owner === "file" && pin?.source !== "env",
      sensitive: definition.sensitive,
    };
  }

  /**
   * Writes applied values in the apply transaction, like `set` (history with secrets redacted); a new admin
   * password also moves `api.sessions_not_before`, ending every admin session.
   */
  async writeApplied(
    trx: Transaction<Database>,
    writes: readonly { key: ConfigKey; value: string; old: string }[],
    actor: string,
    now: number,
  ): Promise<void> {
    for (const { key, value, old } of writes) {
      const sensitive = definitionOf(key)!.sensitive;
      await this.store.write(
        {
          key,
          value,
          actor,
          now,
          historyOld: sensitive ? REDACTED : old,
          historyNew: sensitive ? REDACTED : value,
        },
        trx,
      );
    }
    if (writes.some((w) => w.key === "api.admin_token")) {
      await this.store.write(
        {
          key: "api.sessions_not_before",
          value: String(now),
          actor,
          now,
          historyOld: this.stored.get("api.sessions_not_before") ?? null,
          historyNew: String(now),
        },
        trx,
      );
    }
  }

  /** After the apply committed: the file's pins take effect here, and every instance reloads what was written. */
  async adoptApplied(
    pins: readonly { key: ConfigKey; value: string }[],
    written: readonly ConfigKey[],
  ): Promise<void> {
    for (const { key, value } of pins) this.pins.set(key, { value, source: "file" });
    this.rebuild();
    if (pins.length > 0) this.feed.emit({ kind: "config", keys: pins.map((p) => p.key) }, "local");
    if (written.length > 0) {
      await this.reload();
      await this.feed.publish({ kind: "config", keys: [...written] });
    }
  }

  /**
   * The values an export document carries: every key set in the database to something other than its default
   * (pinned keys are the environment's or the file's business). Secrets only with `includeSecrets`, in their
   * stored (hashed) form, which applies back unchanged.
   */
  exportable(includeSecrets: boolean): Record<string, string> {
    const values: Record<string, string> = {};
    for (const definition of REGISTRY) {
      const key = definition.key;
      if (this.source(key) !== "db") continue;
      if (definition.sensitive && !includeSecrets) continue;
      // A secret stored as itself (the session signing key) never leaves through the API: with it anyone could
      // mint admin sessions that outlive the revocation of the credential that exported it.
      if (definition.sensitive && definition.storedAs === undefined) continue;
      values[key] = this.stored.get(key)!;
    }
    return values;
  }

  /** Back to the registry default (a key with a random default gets a new random value). */
  reset(key: ConfigKey, by: AuditContext, now: number): Promise<boolean> {
    return this.set(key, defaultOf(definitionOf(key)!), by, now);
  }

  /** A fresh value for a key that has the `generate_token` action: 32 random bytes as 64 hex characters. */
  generate(key: ConfigKey): string {
    if (definitionOf(key)?.action !== "generate_token") {
      throw new ConfigValueError(`Config '${key}' does not support any action`);
    }
    return randomBytes(32).toString("hex");
  }

  async history(key: ConfigKey, limit: number): Promise<HistoryItem[]> {
    const rows = await this.store.history(key, limit);
    return rows.map((row) => ({
      id: Number(row.id),
      config_key: row.config_key,
      old_value: row.old_value,
      new_value: row.new_value,
      changed_at: new Date(Number(row.changed_at)).toISOString(),
      changed_by: row.changed_by,
    }));
  }

  /** Re-reads every row (changes made by other processes or directly in the database). */
  async reload(db?: Parameters<ConfigStore["readAll"]>[0]): Promise<void> {
    const rows = await this.store.readAll(db);
    const next = new Map<string, string>();
    const updated = new Map<string, number>();
    for (const row of rows) {
      const definition = definitionOf(row.key);
      if (!definition) continue; // a key from a newer version, or removed: ignore
      if (this.isValidStored(definition, row.value)) {
        next.set(row.key, row.value);
        updated.set(row.key, Number(row.updated_at));
      } else {
        this.log.warn({ key: row.key }, "stored config value is invalid; using the default");
      }
    }
    const changed = [...new Set([...next.keys(), ...this.stored.keys()])].filter(
      (key) => next.get(key) !== this.stored.get(key),
    );
    this.stored = next;
    this.updatedAt = updated;
    this.rebuild();
    // Local only: a reload applies what is already in the database; other instances read the same rows.
    if (changed.length > 0) this.feed.emit({ kind: "config", keys: changed }, "local");
  }

  /** Input → the value as stored: validated and normalised; secrets hashed unless given in hashed form. */
  private async toStored(definition: KeyDefinition, input: string): Promise<string> {
    if (input.length > MAX_VALUE_LENGTH)
      throw new ConfigValueError(`must be at most ${MAX_VALUE_LENGTH} characters`);
    if (CONTROL_CHARS.test(input)) throw new ConfigValueError("must not contain control characters");
    if (definition.storedAs === "argon2") {
      if (isArgon2idHash(input)) {
        const problem = await hashProblem(input);
        if (problem) throw new ConfigValueError(`the $argon2id$ hash ${problem}`);
        return input;
      }
      const plain = definition.normalize(input);
      return plain === "" ? "" : hashPassword(plain);
    }
    if (definition.storedAs === "sha256") {
      if (SHA256_FORM.test(input)) return input;
      const plain = definition.normalize(input);
      return plain === "" ? "" : `sha256:${createHash("sha256").update(plain).digest("hex")}`;
    }
    return definition.normalize(input);
  }

  private assertConsistent(key: string, value: string): void {
    if (!(ROUTE_PREFIX_KEYS as readonly string[]).includes(key)) return;
    for (const other of ROUTE_PREFIX_KEYS) {
      if (other !== key && this.get(other) === value) {
        throw new ConfigValueError(`is already used by ${other}`);
      }
    }
  }

  private isValidStored(definition: KeyDefinition, value: string): boolean {
    if (definition.storedAs === "argon2") return value === "" || isArgon2idHash(value);
    if (definition.storedAs === "sha256") return value === "" || SHA256_FORM.test(value);
    try {
      return definition.normalize(value) === value;
    } catch {
      return false;
    }
  }

  private rebuild(): void {
    const values: Record<string, unknown> = {};
    for (const definition of REGISTRY) {
      const d = definition as KeyDefinition;
      const raw = this.pins.get(d.key)?.value ?? this.stored.get(d.key) ?? this.defaults.get(d.key)!;
      values[d.key] = d.decode(raw);
    }
    this.snapshot = values as ConfigValues;
  }
}
