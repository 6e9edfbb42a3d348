/**
 * `jmp/client`: a typed client for the whole Admin API. Results are the `data` of the envelope, typed from the
 * same schemas that describe the API (src/admin/schemas.ts); failures throw `JmpApiError` with the server's
 * numeric code, stable `error` name, message and field errors. It runs anywhere `fetch` does (Node ≥ 20).
 *
 *   import { JmpClient } from "jmp/client";
 *   const jmp = new JmpClient({ url: "https://s.example", token: process.env.JMP_TOKEN! });
 *   await jmp.links.put("gh", { target: "https://github.com" }, { upsert: true });
 */
import type * as Api from "../admin/schemas.js";
import type { ApplyDocument } from "../provision/document.js";
import type { SettingsInput } from "../links/settings.js";
import type { LinkSortColumn } from "../store/link-filter.js";
import { analyticsCalls } from "./analytics.js";
import { JmpApiError, JmpConnectionError } from "./errors.js";
import { encodeCode } from "./paths.js";
import { chunkedUpload, multipartUpload } from "./upload.js";

export type {
  ApiKey,
  ApiKeyPut,
  ApiKeyWithToken,
  ApplyResult,
  AuditEntry,
  BatchResult,
  ClickEventData,
  ClickPageData,
  ConfigHistoryEntry,
  ConfigItem,
  ConfigSchemaItem,
  ConfigWritten,
  DevicesData,
  GeoCount,
  ImportResult,
  Link,
  LinkAnalyticsData,
  Pagination,
  ReferrerCount,
  Stats,
  SummaryData,
  TagChange,
  TagClicks,
  TagCount,
  TopLink,
  TrendData,
  Whoami,
  WrittenLink,
} from "../admin/schemas.js";
export type { ApplyDocument } from "../provision/document.js";

export { ANALYTICS_FILTERS, type AnalyticsFilter, type AnalyticsQuery } from "./analytics.js";
export { JmpApiError, JmpConnectionError } from "./errors.js";

/** The session cookie that carries the access token (src/auth/credentials.ts). */
const ACCESS_COOKIE_NAME = "jmp_access";

export interface JmpClientOptions {
  /** The server's base URL, e.g. `https://s.example` (the admin prefix is added). */
  url: string;
  /** An API key (`jmp_…`), the bootstrap key, or an access token. */
  token: string;
  /** The Admin API prefix (runtime key `routes.admin_prefix`), default `/admin`. */
  adminPrefix?: string;
  fetch?: typeof fetch;
}

export interface Tagged<T> {
  data: T;
  /** The object's ETag, for `ifMatch`. */
  etag: string | null;
}

/** A link to write: Shortlinker's fields plus jmp's settings (tags, redirect_status, rules, …). */
export interface LinkInput extends SettingsInput {
  target: string;
  /** RFC 3339 or relative (`7d`); "" removes the expiry on update. */
  expires_at?: string | null;
  /** Plain text (hashed by the server) or an `$argon2id$` hash; "" removes it on update. */
  password?: string | null;
}

export interface LinkFilter {
  search?: string;
  /** Comma-separated tags; `tags_mode` any (default) or all. */
  tags?: string;
  tags_mode?: "any" | "all";
  created_after?: string;
  created_before?: string;
  only_expired?: boolean;
  only_active?: boolean;
  /** active (enabled, not expired), expired or disabled; not with `only_*`. */
  status?: "active" | "expired" | "disabled";
}

/** A column to list links by, descending with a leading `-` (default `-created_at`). */
export type LinkSort = LinkSortColumn | `-${LinkSortColumn}`;

export interface KeyInput {
  name?: string;
  scopes?: string[];
  description?: string | null;
  expires_at?: string | null;
  expires_in?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

interface Call {
  method: string;
  path: string;
  query?: Query | undefined;
  json?: unknown;
  body?: RequestInit["body"] | undefined;
  headers?: Record<string, string | undefined> | undefined;
}

export class JmpClient {
  readonly url: string;
  private readonly base: string;
  private readonly token: string;
  private readonly fetcher: typeof fetch;

  constructor(options: JmpClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.base = `${this.url}${options.adminPrefix ?? "/admin"}/v1`;
    this.token = options.token;
    this.fetcher = options.fetch ?? fetch;
  }

  /**
   * Logs in with the admin password and returns a client that uses the session's access token (valid for
   * `api.access_token_minutes`) — enough to create an API key for the long run (`jmp login`).
   */
  static async login(options: Omit<JmpClientOptions, "token"> & { password: string }): Promise<JmpClient> {
    const anonymous = new JmpClient({ ...options, token: "" });
    const response = await anonymous.send({
      method: "POST",
      path: "/auth/login",
      json: { password: options.password },
    });
    const cookie = response.headers
      .getSetCookie()
      .map((line) => line.split(";", 1)[0]!)
      .find((pair) => pair.startsWith(`${ACCESS_COOKIE_NAME}=`));
    if (!cookie)
      throw new JmpConnectionError(anonymous.url, new Error("the login answer set no session cookie"));
    return new JmpClient({ ...options, token: cookie.slice(ACCESS_COOKIE_NAME.length + 1) });
  }

  /** The raw response of a call; throws JmpApiError for any non-2xx answer. */
  async send(call: Call): Promise<Response> {
    const url = new URL(this.base + call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    for (const [name, value] of Object.entries(call.headers ?? {}))
      if (value !== undefined) headers[name] = value;
    let body = call.body;
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers["content-type"] = "application/json";
    }
    let response: Response;
    try {
      response = await this.fetcher(url, {
        method: call.method,
        headers,
        body: body ?? null,
        ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      throw new JmpConnectionError(this.url, err);
    }
    if (!response.ok) {
      const envelope = (await response.json().catch(() => ({}))) as Partial<Api.ErrorBody>;
      throw new JmpApiError(response.status, envelope);
    }
    return response;
  }

  /** A call whose answer is the `{code, message, data}` envelope: returns `data`. */
  async call<T>(call: Call): Promise<T> {
    return (await this.tagged<T>(call)).data;
  }

  private async tagged<T>(call: Call): Promise<Tagged<T>> {
    const response = await this.send(call);
    if (response.status === 204) return { data: undefined as T, etag: null };
    const envelope = (await response.json()) as { data: T };
    return { data: envelope.data, etag: response.headers.get("etag") };
  }

  readonly links = {
    list: (query: LinkFilter & { page?: number; page_size?: number; sort?: LinkSort } = {}) =>
      this.send({ method: "GET", path: "/links", query: query as Query }).then(
        (r) => r.json() as Promise<{ data: Api.Link[]; pagination: Api.Pagination }>,
      ),
    get: (code: string) => this.tagged<Api.Link>({ method: "GET", path: `/links/${encodeCode(code)}` }),
    create: (input: LinkInput & { code?: string; force?: boolean }) =>
      this.tagged<Api.WrittenLink>({ method: "POST", path: "/links", json: input }),
    /**
     * Update (Shortlinker semantics); with `upsert` create or replace; with `createOnly` (If-None-Match: *)
     * create only; with `ifMatch` only if unchanged since that ETag.
     */
    put: (
      code: string,
      input: LinkInput,
      options: { upsert?: boolean; createOnly?: boolean; ifMatch?: string } = {},
    ) =>
      this.tagged<Api.WrittenLink>({
        method: "PUT",
        path: `/links/${encodeCode(code)}`,
        query: { upsert: options.upsert || undefined },
        json: input,
        headers: { "if-match": options.ifMatch, "if-none-match": options.createOnly ? "*" : undefined },
      }),
    delete: (code: string, options: { ifMatch?: string } = {}) =>
      this.call<{ message: string }>({
        method: "DELETE",
        path: `/links/${encodeCode(code)}`,
        headers: { "if-match": options.ifMatch },
      }),
    batchCreate: (links: (LinkInput & { code?: string; force?: boolean })[]) =>
      this.call<Api.BatchResult>({ method: "POST", path: "/links/batch", json: { links } }),
    batchUpdate: (updates: { code: string; payload: LinkInput }[]) =>
      this.call<Api.BatchResult>({ method: "PUT", path: "/links/batch", json: { updates } }),
    batchDelete: (codes: string[]) =>
      this.call<Api.BatchResult>({ method: "DELETE", path: "/links/batch", json: { codes } }),
    stats: () => this.call<Api.Stats>({ method: "GET", path: "/stats" }),
    /** The CSV export as a stream (flat memory for any number of links). */
    exportCsv: async (query: LinkFilter & { include_secrets?: boolean } = {}) => {
      const response = await this.send({ method: "GET", path: "/links/export", query: query as Query });
      return response.body!;
    },
    /**
     * Imports CSV (Shortlinker's columns, at most 10 MB). `onUpload` is told how many bytes have been sent, as
     * the server reads them (for a progress bar).
     */
    importCsv: (
      csv: string | Uint8Array,
      mode: "skip" | "overwrite" | "error" = "skip",
      options: {
        onUpload?: (sentBytes: number, totalBytes: number) => void;
        /** Another shortener's export format (default `jmp`, the links CSV). */
        from?: "jmp" | "yourls" | "shlink" | "kutt" | "bitly";
      } = {},
    ) => {
      const { body, contentType, length } = multipartUpload(
        options.from && options.from !== "jmp" ? { mode, from: options.from } : { mode },
        typeof csv === "string" ? new TextEncoder().encode(csv) : csv,
        options.onUpload,
      );
      return this.call<Api.ImportResult>({
        method: "POST",
        path: "/links/import",
        body,
        headers: { "content-type": contentType, "content-length": String(length) },
      });
    },
  };

  readonly tags = {
    list: () => this.call<Api.TagCount[]>({ method: "GET", path: "/tags" }),
    rename: (tag: string, name: string) =>
      this.call<Api.TagChange>({ method: "PUT", path: `/tags/${encodeURIComponent(tag)}`, json: { name } }),
    delete: (tag: string) =>
      this.call<Api.TagChange>({ method: "DELETE", path: `/tags/${encodeURIComponent(tag)}` }),
  };

  readonly config = {
    list: () => this.call<Api.ConfigItem[]>({ method: "GET", path: "/config" }),
    schema: () => this.call<Api.ConfigSchemaItem[]>({ method: "GET", path: "/config/schema" }),
    get: (key: string) =>
      this.call<Api.ConfigItem>({ method: "GET", path: `/config/${encodeURIComponent(key)}` }),
    set: (key: string, value: string) =>
      this.call<Api.ConfigWritten>({
        method: "PUT",
        path: `/config/${encodeURIComponent(key)}`,
        json: { value },
      }),
    reset: (key: string) =>
      this.call<Api.ConfigWritten>({ method: "POST", path: `/config/${encodeURIComponent(key)}/reset` }),
    history: (key: string, limit?: number) =>
      this.call<Api.ConfigHistoryEntry[]>({
        method: "GET",
        path: `/config/${encodeURIComponent(key)}/history`,
        query: { limit },
      }),
    reload: () =>
      this.call<{ message: string; duration_ms: number }>({ method: "POST", path: "/config/reload" }),
    action: (key: string, action: string) =>
      this.call<{ value: string }>({
        method: "POST",
        path: `/config/${encodeURIComponent(key)}/action`,
        json: { action },
      }),
    executeAndSave: (key: string, action: string) =>
      this.call<{ success: boolean }>({
        method: "POST",
        path: `/config/${encodeURIComponent(key)}/execute-and-save`,
        json: { action },
      }),
  };

  readonly keys = {
    list: (options: { includeRevoked?: boolean } = {}) =>
      this.call<Api.ApiKey[]>({
        method: "GET",
        path: "/keys",
        query: { include_revoked: options.includeRevoked || undefined },
      }),
    get: (id: string) => this.tagged<Api.ApiKey>({ method: "GET", path: `/keys/${encodeURIComponent(id)}` }),
    create: (input: KeyInput & { name: string; scopes: string[] }) =>
      this.tagged<Api.ApiKeyWithToken>({ method: "POST", path: "/keys", json: input }),
    putByName: (name: string, input: KeyInput & { token_sha256: string }) =>
      this.tagged<Api.ApiKeyPut>({
        method: "PUT",
        path: `/keys/by-name/${encodeURIComponent(name)}`,
        json: input,
      }),
    update: (id: string, input: KeyInput, options: { ifMatch?: string } = {}) =>
      this.tagged<Api.ApiKey>({
        method: "PATCH",
        path: `/keys/${encodeURIComponent(id)}`,
        json: input,
        headers: { "if-match": options.ifMatch },
      }),
    rotate: (id: string, graceSeconds = 0) =>
      this.call<Api.ApiKeyWithToken>({
        method: "POST",
        path: `/keys/${encodeURIComponent(id)}/rotate`,
        json: { grace_seconds: graceSeconds },
      }),
    revoke: (id: string) => this.call<void>({ method: "DELETE", path: `/keys/${encodeURIComponent(id)}` }),
  };

  readonly auth = {
    whoami: () => this.call<Api.Whoami>({ method: "GET", path: "/auth/whoami" }),
    /** Revokes the API key this client uses (`jmp logout`); the client cannot authenticate afterwards. */
    revokeOwnKey: () => this.call<void>({ method: "DELETE", path: "/auth/api-key" }),
    verify: () => this.call<{ message: string }>({ method: "GET", path: "/auth/verify" }),
  };

  /** Shortlinker's analytics routes (docs/api.md#analytics); every call takes the same range and grouping. */
  readonly analytics = analyticsCalls((call) => this.call(call));

  readonly audit = {
    list: (
      query: {
        actor?: string;
        object_type?: string;
        object_id?: string;
        since?: string;
        until?: string;
        page?: number;
        page_size?: number;
      } = {},
    ) =>
      this.send({ method: "GET", path: "/audit", query }).then(
        (r) => r.json() as Promise<{ data: Api.AuditEntry[]; pagination: Api.Pagination }>,
      ),
  };

  /**
   * Applies a document (an object, or YAML/JSON text). `dryRun` only plans; `prune` deletes the links and revokes
   * the keys of the document's owner (`owner`, else its `metadata.owner`, else `apply`) that it omits — never
   * objects made outside apply. `asProvisioningFile` (with `dryRun`) previews what the
   * document would change if it were the provisioning file at the next start. `onUpload` is told how many bytes
   * of a text document have been sent. An invalid document throws JmpApiError with `fields`.
   */
  apply(
    document: ApplyDocument | string,
    options: {
      dryRun?: boolean;
      prune?: boolean;
      owner?: string;
      asProvisioningFile?: boolean;
      onUpload?: (sentBytes: number, totalBytes: number) => void;
    } = {},
  ): Promise<Api.ApplyResult> {
    const query = {
      dry_run: options.dryRun || undefined,
      prune: options.prune,
      owner: options.asProvisioningFile ? "file" : options.owner,
    };
    if (typeof document !== "string")
      return this.call({ method: "POST", path: "/apply", query, json: document });
    const text = new TextEncoder().encode(document);
    return this.call({
      method: "POST",
      path: "/apply",
      query,
      body: options.onUpload ? chunkedUpload(text, options.onUpload) : text,
      headers: { "content-type": "application/yaml", "content-length": String(text.length) },
    });
  }

  /** The current state as an apply document (`include_secrets` needs the admin scope). */
  async export(options: { includeSecrets?: boolean } = {}): Promise<ApplyDocument> {
    const response = await this.send({
      method: "GET",
      path: "/export",
      query: { include_secrets: options.includeSecrets || undefined },
    });
    return (await response.json()) as ApplyDocument;
  }

  /** The same as YAML text. */
  async exportYaml(options: { includeSecrets?: boolean } = {}): Promise<string> {
    const response = await this.send({
      method: "GET",
      path: "/export",
      query: { format: "yaml", include_secrets: options.includeSecrets || undefined },
    });
    return response.text();
  }

  /** The OpenAPI description of this server. */
  async openapi(): Promise<Record<string, unknown>> {
    return (await (await this.send({ method: "GET", path: "/openapi.json" })).json()) as Record<
      string,
      unknown
    >;
  }
}
