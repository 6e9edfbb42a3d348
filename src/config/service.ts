/**
 * Runtime configuration: a typed in-memory snapshot of every registry key, backed by the `runtime_config` table.
 * Reads never touch the database. Writes validate through the registry, hash secrets, record history and
 * publish a change event; instances that receive a config event from another process (another instance, the
 * CLI) re-read the table, so every change applies everywhere without a restart.
 *
 * A key may be pinned (today: `api.admin_token` by `JMP_ADMIN_PASSWORD`): the pinned value wins over the
 * database and cannot be changed through the service.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { hashPassword, isArgon2idHash, verifyPassword } from "../auth/password.js";
import type { ChangeFeed } from "../events/feed.js";
import type { ConfigStore } from "../store/config-store.js";
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

export const REDACTED = "[REDACTED]";
const SHA256_FORM = /^sha256:[0-9a-f]{64}$/;

export type ConfigSource = "db" | "default" | "env";

export class ConfigPinnedError extends Error {
  constructor(readonly key: string) {
    super(`Config '${key}' is set by the environment and cannot be changed here`);
  }
}

export class ConfigService {
  private stored = new Map<string, string>();
  private pins = new Map<string, string>();
  private snapshot = {} as ConfigValues;
  /** Defaults resolved once, so a random default (a secret) is the same value for the whole process. */
  private readonly defaults = new Map(REGISTRY.map((d) => [d.key as string, defaultOf(d as KeyDefinition)]));

  constructor(
    private readonly store: ConfigStore,
    private readonly feed: ChangeFeed,
    private readonly log: Logger,
  ) {
    this.rebuild();
  }

  /** Pins a key to a value that was already normalised (and hashed) by the caller. */
  pin(key: ConfigKey, storedValue: string): void {
    this.pins.set(key, storedValue);
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
    if (this.pins.has(key)) return "env";
    return this.stored.has(key) ? "db" : "default";
  }

  /** The route prefixes without their leading slash: codes may not equal or start under them. */
  reservedPrefixes(): string[] {
    return ROUTE_PREFIX_KEYS.map((key) => this.get(key).slice(1));
  }

  /**
   * Validates, normalises and stores a value. Secrets are hashed (a value already in hashed form is kept).
   * Returns false when the value was unchanged (nothing is written).
   * @throws ConfigValueError for invalid input, ConfigPinnedError for a pinned key.
   */
  async set(key: ConfigKey, input: string, actor: string, now: number): Promise<boolean> {
    const definition = definitionOf(key)!;
    if (this.pins.has(key)) throw new ConfigPinnedError(key);
    const current = this.stored.get(key) ?? this.defaults.get(key)!;
    const value = await this.prepare(definition, input, current);
    if (value === null) return false;
    this.assertConsistent(key, value);
    const redact = (v: string | null) => (definition.sensitive && v !== null ? REDACTED : v);
    await this.store.write({
      key,
      value,
      actor,
      now,
      historyOld: redact(this.stored.get(key) ?? null),
      historyNew: redact(value) ?? "",
    });
    this.stored.set(key, value);
    this.rebuild();
    await this.feed.publish({ kind: "config", keys: [key] });
    return true;
  }

  /** Re-reads every row; publishes the keys whose value changed. */
  async reload(): Promise<void> {
    const rows = await this.store.readAll();
    const next = new Map<string, string>();
    for (const row of rows) {
      const definition = definitionOf(row.key);
      if (!definition) continue; // a key from a newer version, or removed: ignore
      if (this.isValidStored(definition, row.value)) next.set(row.key, row.value);
      else this.log.warn({ key: row.key }, "stored config value is invalid; using the default");
    }
    const changed = [...new Set([...next.keys(), ...this.stored.keys()])].filter(
      (key) => next.get(key) !== this.stored.get(key),
    );
    this.stored = next;
    this.rebuild();
    // Local only: a reload applies what is already in the database; other instances read the same rows.
    if (changed.length > 0) this.feed.emit({ kind: "config", keys: changed }, "local");
  }

  private async prepare(definition: KeyDefinition, input: string, current: string): Promise<string | null> {
    if (definition.storedAs === "argon2") {
      if (isArgon2idHash(input)) return input === current ? null : input;
      const plain = definition.normalize(input);
      if (plain === "") return current === "" ? null : "";
      if (await verifyPassword(current, plain)) return null;
      return hashPassword(plain);
    }
    if (definition.storedAs === "sha256") {
      if (SHA256_FORM.test(input)) return input === current ? null : input;
      const plain = definition.normalize(input);
      const value = plain === "" ? "" : `sha256:${createHash("sha256").update(plain).digest("hex")}`;
      return value === current ? null : value;
    }
    const value = definition.normalize(input);
    return value === current ? null : value;
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
      const raw = this.pins.get(d.key) ?? this.stored.get(d.key) ?? this.defaults.get(d.key)!;
      values[d.key] = d.decode(raw);
    }
    this.snapshot = values as ConfigValues;
  }
}
