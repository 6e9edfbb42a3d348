/**
 * Admin API v1 — runtime configuration (`/config`), Shortlinker's contract plus `reset` and `source`.
 * Every key is addressed by its registry name; unknown keys answer 404/5000 on every route.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ConfigKey } from "../config/registry.js";
import { ConfigValueError, defaultOf, definitionOf, REGISTRY } from "../config/registry.js";
import { ConfigPinnedError, type ConfigService, isConfigKey } from "../config/service.js";
import {
  configNotFound,
  invalidValue,
  managedByEnvironment,
  managedByProvisioning,
  noAction,
  unsupportedAction,
} from "../errors.js";
import { printable } from "../text.js";
import { auditContextOf } from "./context.js";
import { ok } from "./envelope.js";
import {
  ActionValueSchema,
  ConfigHistorySchema,
  ConfigItemSchema,
  ConfigSchemaItemSchema,
  ConfigWrittenSchema,
  Envelope,
  ExecuteSaveSchema,
  ReloadSchema,
} from "./schemas.js";

const KeyParams = Type.Object({ key: Type.String({ maxLength: 256 }) });
const ActionBody = Type.Object({ action: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

function knownKey(key: string): ConfigKey {
  if (!isConfigKey(key)) {
    throw configNotFound(`Config key '${printable(key)}' not found`);
  }
  return key;
}

/** Runs a write, mapping validation and pinning failures to their API errors. */
async function write<T>(key: ConfigKey, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ConfigValueError) {
      throw invalidValue(`Invalid value for '${key}': ${err.message}`);
    }
    if (err instanceof ConfigPinnedError) {
      throw (err.pinSource === "env" ? managedByEnvironment : managedByProvisioning)(err.message);
    }
    throw err;
  }
}

function checkAction(key: ConfigKey, action: string): void {
  const supported = definitionOf(key)!.action;
  if (!supported) throw noAction(`Config '${key}' does not support any action`);
  if (action !== supported) {
    throw unsupportedAction(`Config '${key}' supports only '${supported}'`);
  }
}

export function configRoutes(config: ConfigService): FastifyPluginAsyncTypebox {
  function written(key: ConfigKey) {
    const item = config.describe(key);
    return {
      key,
      value: item.value,
      requires_restart: false,
      is_sensitive: item.is_sensitive,
      source: item.source,
      message: null,
    };
  }

  return async (app) => {
    app.get(
      "/config",
      {
        config: { scope: "config:read" },
        schema: {
          summary: "Every runtime key",
          operationId: "listConfig",
          tags: ["config"],
          response: { 200: Envelope(Type.Array(ConfigItemSchema)) },
        },
      },
      async () => ok(config.list()),
    );

    app.get(
      "/config/schema",
      {
        config: { scope: "config:read" },
        schema: {
          summary: "The registry: type, default, options of every key",
          operationId: "getConfigSchema",
          tags: ["config"],
          response: { 200: Envelope(Type.Array(ConfigSchemaItemSchema)) },
        },
      },
      async () =>
        ok(
          REGISTRY.map((definition, order) => ({
            key: definition.key,
            value_type: definition.type,
            // A random default (a secret) is not revealed: the schema says what kind of value it is.
            default_value: typeof definition.defaultValue === "function" ? "" : defaultOf(definition),
            description: definition.description,
            category: definition.category,
            enum_options:
              "enumOptions" in definition && definition.enumOptions
                ? definition.enumOptions.map((o) => ({
                    value: o.value,
                    label: o.label,
                    label_i18n_key: null,
                    description: o.description ?? null,
                    description_i18n_key: null,
                  }))
                : null,
            requires_restart: false,
            editable: config.describe(definition.key).editable,
            order,
            action: "action" in definition ? (definition.action ?? null) : null,
            is_sensitive: definition.sensitive,
          })),
        ),
    );

    app.post(
      "/config/reload",
      {
        config: { scope: "config:write" },
        schema: {
          summary: "Re-read config from the database",
          operationId: "reloadConfig",
          tags: ["config"],
          response: { 200: Envelope(ReloadSchema) },
        },
      },
      async () => {
        const started = performance.now();
        await config.reload();
        return ok({
          message: "Config reloaded successfully",
          duration_ms: Math.round(performance.now() - started),
        });
      },
    );

    app.get(
      "/config/:key",
      {
        config: { scope: "config:read" },
        schema: {
          summary: "One key",
          operationId: "getConfig",
          tags: ["config"],
          params: KeyParams,
          response: { 200: Envelope(ConfigItemSchema) },
        },
      },
      async (request) => ok(config.describe(knownKey(request.params.key))),
    );

    app.put(
      "/config/:key",
      {
        config: { scope: "config:write" },
        schema: {
          summary: "Set a key",
          operationId: "setConfig",
          tags: ["config"],
          params: KeyParams,
          body: Type.Object({ value: Type.String({ maxLength: 65536 }) }, { additionalProperties: false }),
          response: { 200: Envelope(ConfigWrittenSchema) },
        },
      },
      async (request) => {
        const key = knownKey(request.params.key);
        await write(key, () => config.set(key, request.body.value, auditContextOf(request), Date.now()));
        return ok(written(key));
      },
    );

    app.post(
      "/config/:key/reset",
      {
        config: { scope: "config:write" },
        schema: {
          summary: "Set a key back to its default",
          operationId: "resetConfig",
          tags: ["config"],
          params: KeyParams,
          response: { 200: Envelope(ConfigWrittenSchema) },
        },
      },
      async (request) => {
        const key = knownKey(request.params.key);
        await write(key, () => config.reset(key, auditContextOf(request), Date.now()));
        return ok(written(key));
      },
    );

    app.get(
      "/config/:key/history",
      {
        config: { scope: "config:read" },
        schema: {
          summary: "Changes of a key, newest first",
          operationId: "getConfigHistory",
          tags: ["config"],
          params: KeyParams,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer()) }),
          response: { 200: Envelope(Type.Array(ConfigHistorySchema)) },
        },
      },
      async (request) => {
        const key = knownKey(request.params.key);
        const limit = Math.min(100, Math.max(1, request.query.limit ?? 20));
        return ok(await config.history(key, limit));
      },
    );

    app.post(
      "/config/:key/action",
      {
        config: { scope: "config:write" },
        schema: {
          summary: "Run a key's action (generate_token) and return the value without saving it",
          operationId: "runConfigAction",
          tags: ["config"],
          params: KeyParams,
          body: ActionBody,
          response: { 200: Envelope(ActionValueSchema) },
        },
      },
      async (request) => {
        const key = knownKey(request.params.key);
        checkAction(key, request.body.action);
        return ok({ value: config.generate(key) });
      },
    );

    app.post(
      "/config/:key/execute-and-save",
      {
        config: { scope: "config:write" },
        schema: {
          summary: "Run a key's action and save the result",
          operationId: "executeAndSaveConfig",
          tags: ["config"],
          params: KeyParams,
          body: ActionBody,
          response: { 200: Envelope(ExecuteSaveSchema) },
        },
      },
      async (request) => {
        const key = knownKey(request.params.key);
        checkAction(key, request.body.action);
        await write(key, () => config.set(key, config.generate(key), auditContextOf(request), Date.now()));
        return ok({ success: true, requires_restart: false, message: null });
      },
    );
  };
}
