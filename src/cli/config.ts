/**
 * `jmp config …`: list, get, set, reset, history, export and import runtime keys.
 *
 * With `JMP_URL` set, commands go through the Admin API of a running server (authenticated by `JMP_TOKEN` or
 * `JMP_TOKEN_FILE`, e.g. the bootstrap API key). Otherwise they work directly on the database named by the
 * usual settings (`JMP_DATABASE_URL`, `JMP_DATA_DIR`), recorded in history as actor `cli` and published on the
 * change log, so running servers apply them at once.
 */
import { REDACTED } from "../text.js";
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { type ConfigKey, ConfigValueError, definitionOf, REGISTRY } from "../config/registry.js";
import { ConfigPinnedError, ConfigService, isConfigKey } from "../config/service.js";
import { AuditLog, internalContext } from "../audit/log.js";
import { ChangeFeed } from "../events/feed.js";
import { ChangeLog } from "../events/transport.js";
import { readSettings } from "../settings.js";
import { ConfigStore } from "../store/config-store.js";
import type { Store } from "../store/db.js";
import { openExistingStore } from "./database.js";
import type { ConfigHistoryEntry, ConfigItem, JmpClient } from "../client/index.js";
import { environmentClient } from "./api.js";
import { CliError } from "./errors.js";
import { ChangesStore } from "../store/changes-store.js";

export interface ConfigBackend {
  list(): Promise<ConfigItem[]>;
  get(key: string): Promise<ConfigItem>;
  set(key: string, value: string): Promise<ConfigItem>;
  reset(key: string): Promise<ConfigItem>;
  history(key: string, limit: number): Promise<ConfigHistoryEntry[]>;
  /** Stored values of sensitive keys (offline only): hashes for passwords and tokens, the JWT secret itself. */
  secrets(): Promise<{ key: string; value: string }[]>;
  close(): Promise<void>;
}

export interface ExportDocument {
  version: "1.0";
  exported_at: string;
  configs: { key: string; value: string; category: string }[];
}

function known(key: string): ConfigKey {
  if (!isConfigKey(key)) throw new CliError(`Config key '${key}' not found`);
  return key;
}

/** Works on the database directly. */
export async function offlineBackend(): Promise<ConfigBackend> {
  const settings = readSettings();
  const store: Store = await openExistingStore(settings);
  const log = pino({ level: "silent" });
  const feed = new ChangeFeed(log);
  feed.attach(new ChangeLog(new ChangesStore(store.db, store.engine), feed, log));
  const configStore = new ConfigStore(store.db);
  const CLI = internalContext("cli");
  const config = new ConfigService(configStore, feed, log, new AuditLog());
  for (const pin of settings.configPins) await config.pin(pin.key, pin.value, "env");
  if (settings.adminPassword !== null) await config.pin("api.admin_token", settings.adminPassword, "env");
  await config.seed(Date.now());

  async function write(key: string, run: (k: ConfigKey) => Promise<unknown>): Promise<ConfigItem> {
    const k = known(key);
    try {
      await run(k);
    } catch (err) {
      if (err instanceof ConfigValueError) throw new CliError(`Invalid value for '${k}': ${err.message}`);
      if (err instanceof ConfigPinnedError) throw new CliError(err.message);
      throw err;
    }
    return config.describe(k);
  }

  return {
    list: async () => config.list(),
    get: async (key) => config.describe(known(key)),
    set: (key, value) => write(key, (k) => config.set(k, value, CLI, Date.now())),
    reset: (key) => write(key, (k) => config.reset(k, CLI, Date.now())),
    history: (key, limit) => config.history(known(key), limit),
    async secrets() {
      const rows = await configStore.readAll();
      const sensitive = new Set(REGISTRY.filter((d) => d.sensitive).map((d) => d.key as string));
      return rows.filter((row) => sensitive.has(row.key)).map((row) => ({ key: row.key, value: row.value }));
    },
    close: () => store.close(),
  };
}

/** Works through the Admin API of a running server. */
export function onlineBackend(client: JmpClient): ConfigBackend {
  return {
    list: () => client.config.list(),
    get: (key) => client.config.get(key),
    async set(key, value) {
      await client.config.set(key, value);
      return client.config.get(key);
    },
    async reset(key) {
      await client.config.reset(key);
      return client.config.get(key);
    },
    history: (key, limit) => client.config.history(key, limit),
    async secrets() {
      throw new CliError(
        "secrets can only be exported offline (without JMP_URL): the API never returns them",
      );
    },
    close: async () => {},
  };
}

export async function configBackend(): Promise<ConfigBackend> {
  const client = environmentClient();
  return client ? onlineBackend(client) : offlineBackend();
}

export async function exportConfig(backend: ConfigBackend, includeSecrets: boolean): Promise<ExportDocument> {
  const items = await backend.list();
  const secrets = includeSecrets ? new Map((await backend.secrets()).map((s) => [s.key, s.value])) : null;
  const configs = items
    .filter((item) => item.source !== "env")
    .flatMap((item) => {
      const category = definitionOf(item.key)!.category;
      if (!item.is_sensitive) return [{ key: item.key, value: item.value, category }];
      const value = secrets?.get(item.key);
      return value === undefined || value === "" ? [] : [{ key: item.key, value, category }];
    });
  return { version: "1.0", exported_at: new Date().toISOString(), configs };
}

/** Validates the whole document first; then writes. Returns how many keys changed. */
export async function importConfig(backend: ConfigBackend, file: string): Promise<number> {
  let document: ExportDocument;
  try {
    document = JSON.parse(readFileSync(file, "utf8")) as ExportDocument;
  } catch (err) {
    throw new CliError(`${file}: not a JSON config export (${(err as Error).message})`);
  }
  if (!Array.isArray(document?.configs))
    throw new CliError(`${file}: expected {"configs": [{"key", "value"}]}`);
  const entries = document.configs.filter((entry) => entry.value !== REDACTED);
  for (const entry of entries) {
    if (typeof entry?.key !== "string" || typeof entry.value !== "string") {
      throw new CliError(`${file}: every entry needs a string key and value`);
    }
    const definition = definitionOf(entry.key);
    if (!definition) throw new CliError(`${file}: Config key '${entry.key}' not found`);
    if (!definition.storedAs) {
      try {
        definition.normalize(entry.value);
      } catch (err) {
        throw new CliError(`${file}: Invalid value for '${entry.key}': ${(err as Error).message}`);
      }
    }
  }
  let changed = 0;
  for (const entry of entries) {
    const before = await backend.get(entry.key);
    const after = await backend.set(entry.key, entry.value);
    if (before.value !== after.value || before.updated_at !== after.updated_at) changed++;
  }
  return changed;
}
