/**
 * The wire shapes of the Admin API's answers, defined once: routes declare them as response schemas (so the
 * OpenAPI description at `/admin/v1/openapi.json` documents them), the contract tests validate every real
 * answer against that description, and the typed client (`jmp/client`) derives its result types from them.
 * Responses are serialised with JSON.stringify, not from these schemas: a schema can never change an answer.
 */
import { REDACTED } from "../text.js";
import { type Static, type TSchema, Type } from "typebox";
import { SettingsOutputProperties } from "../links/settings-schema.js";
import { ApplyDocument } from "../provision/document.js";

const Str = Type.String();
const Int = Type.Integer();
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ format: "date-time" });
const closed = { additionalProperties: false } as const;

export const FieldErrorSchema = Type.Object({ field: Str, message: Str }, closed);

/** Every error: `{code, message}` as Shortlinker, plus `error` and, where useful, `fields` / `details`. */
export const ErrorBody = Type.Object(
  {
    code: Int,
    message: Str,
    error: Str,
    fields: Type.Optional(Type.Array(FieldErrorSchema)),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { ...closed, description: "The error envelope (no `data` key)." },
);

export const Envelope = <T extends TSchema>(data: T) =>
  Type.Object({ code: Type.Literal(0), message: Str, data }, closed);

export const PaginationSchema = Type.Object(
  { page: Int, page_size: Int, total: Int, total_pages: Int },
  closed,
);

export const Page = <T extends TSchema>(item: T) =>
  Type.Object(
    { code: Type.Literal(0), message: Str, data: Type.Array(item), pagination: PaginationSchema },
    closed,
  );

export const MessageData = Type.Object({ message: Str }, closed);

// ---- links

const LinkProperties = {
  code: Str,
  /** The link's public address (`features.public_base_url`, else the request's origin). */
  short_url: Str,
  target: Str,
  created_at: Time,
  updated_at: Time,
  expires_at: Nullable(Time),
  password: Nullable(Type.Literal(REDACTED)),
  click_count: Int,
  ...SettingsOutputProperties,
};
export const LinkSchema = Type.Object(LinkProperties, closed);
/** Create/update answers: Shortlinker's PostNewLink keys (`force: null`) plus the stored fields. */
export const WrittenLinkSchema = Type.Object({ ...LinkProperties, force: Type.Null() }, closed);

export const BatchResultSchema = Type.Object(
  {
    success: Type.Array(Str),
    failed: Type.Array(Type.Object({ code: Str, error: Str, error_code: Type.Optional(Int) }, closed)),
  },
  closed,
);

export const ImportResultSchema = Type.Object(
  {
    total_rows: Int,
    success_count: Int,
    skipped_count: Int,
    failed_count: Int,
    failed_items: Type.Array(
      Type.Object({ row: Nullable(Int), code: Str, error: Str, error_code: Type.Optional(Int) }, closed),
    ),
  },
  closed,
);

export const StatsSchema = Type.Object({ total_links: Int, total_clicks: Int, active_links: Int }, closed);
export const TagCountSchema = Type.Object({ tag: Str, count: Int }, closed);
export const TagChangeSchema = Type.Object({ tag: Nullable(Str), links: Int }, closed);

// ---- auth

export const SessionData = Type.Object({ message: Str, expires_in: Int }, closed);

export const WhoamiSchema = Type.Object(
  {
    actor: Str,
    scopes: Type.Array(Str),
    source: Str,
    key_id: Type.Optional(Str),
    name: Type.Optional(Str),
    fingerprint: Type.Optional(Str),
    expires_at: Type.Optional(Nullable(Time)),
  },
  closed,
);

// ---- config

const Source = Type.Union([
  Type.Literal("db"),
  Type.Literal("default"),
  Type.Literal("env"),
  Type.Literal("file"),
]);

export const ConfigItemSchema = Type.Object(
  {
    key: Str,
    value: Str,
    value_type: Str,
    requires_restart: Type.Boolean(),
    is_sensitive: Type.Boolean(),
    updated_at: Nullable(Time),
    source: Source,
    editable: Type.Boolean(),
  },
  closed,
);

export const ConfigWrittenSchema = Type.Object(
  {
    key: Str,
    value: Str,
    requires_restart: Type.Boolean(),
    is_sensitive: Type.Boolean(),
    source: Source,
    /** Always null (Shortlinker sends a note here; jmp has nothing to add). */
    message: Nullable(Str),
  },
  closed,
);

export const ConfigSchemaItemSchema = Type.Object(
  {
    key: Str,
    value_type: Str,
    default_value: Str,
    description: Str,
    category: Str,
    enum_options: Nullable(
      Type.Array(
        Type.Object(
          {
            value: Str,
            label: Str,
            label_i18n_key: Type.Null(),
            description: Nullable(Str),
            description_i18n_key: Type.Null(),
          },
          closed,
        ),
      ),
    ),
    requires_restart: Type.Boolean(),
    editable: Type.Boolean(),
    order: Int,
    action: Nullable(Str),
    is_sensitive: Type.Boolean(),
  },
  closed,
);

export const ConfigHistorySchema = Type.Object(
  {
    id: Int,
    config_key: Str,
    old_value: Nullable(Str),
    new_value: Str,
    changed_at: Time,
    changed_by: Nullable(Str),
  },
  closed,
);

export const ReloadSchema = Type.Object({ message: Str, duration_ms: Int }, closed);
export const ActionValueSchema = Type.Object({ value: Str }, closed);
export const ExecuteSaveSchema = Type.Object(
  { success: Type.Boolean(), requires_restart: Type.Boolean(), message: Type.Null() },
  closed,
);

// ---- keys

const KeyProperties = {
  id: Str,
  name: Str,
  display: Str,
  scopes: Type.Array(Str),
  description: Nullable(Str),
  expires_at: Nullable(Time),
  created_at: Nullable(Time),
  created_by: Nullable(Str),
  last_used_at: Nullable(Time),
  revoked_at: Nullable(Time),
  source: Str,
};
export const KeySchema = Type.Object(KeyProperties, closed);
/** Create and rotate: the token, shown this once. */
export const KeyWithTokenSchema = Type.Object({ ...KeyProperties, token: Str }, closed);
export const KeyPutSchema = Type.Object({ ...KeyProperties, changed: Type.Boolean() }, closed);

// ---- audit

export const AuditEntrySchema = Type.Object(
  {
    id: Int,
    at: Time,
    actor: Str,
    ip: Nullable(Str),
    request_id: Nullable(Str),
    action: Str,
    object_type: Str,
    object_id: Nullable(Str),
    before: Type.Unknown(),
    after: Type.Unknown(),
  },
  closed,
);

// ---- apply

const Action = Type.Union([Type.Literal("create"), Type.Literal("update"), Type.Literal("delete")]);

export const ApplyResultSchema = Type.Object(
  {
    dry_run: Type.Boolean(),
    applied: Type.Boolean(),
    summary: Type.Object({ create: Int, update: Int, delete: Int, unchanged: Int }, closed),
    changes: Type.Array(
      Type.Object(
        {
          kind: Type.Union([Type.Literal("link"), Type.Literal("config"), Type.Literal("key")]),
          id: Str,
          action: Action,
          diff: Type.Record(Type.String(), Type.Object({ from: Type.Unknown(), to: Type.Unknown() }, closed)),
          reason: Type.Optional(Str),
        },
        closed,
      ),
    ),
  },
  closed,
);

export { ApplyDocument };

// ---- health

export const HealthSchema = Type.Object(
  {
    status: Type.Union([Type.Literal("healthy"), Type.Literal("degraded"), Type.Literal("unhealthy")]),
    timestamp: Time,
    uptime: Int,
    checks: Type.Record(Type.String(), Type.Object({ status: Str }, { additionalProperties: true })),
    response_time_ms: Int,
  },
  closed,
);

/** `/health` when storage is down: the same report with the Shortlinker code 1030. */
export const HealthUnavailableSchema = Type.Object({ code: Int, message: Str, data: HealthSchema }, closed);

/** The result types the typed client returns. */
export type Link = Static<typeof LinkSchema>;
export type WrittenLink = Static<typeof WrittenLinkSchema>;
export type BatchResult = Static<typeof BatchResultSchema>;
export type ImportResult = Static<typeof ImportResultSchema>;
export type Stats = Static<typeof StatsSchema>;
export type TagCount = Static<typeof TagCountSchema>;
export type TagChange = Static<typeof TagChangeSchema>;
export type Pagination = Static<typeof PaginationSchema>;
export type Whoami = Static<typeof WhoamiSchema>;
export type ConfigItem = Static<typeof ConfigItemSchema>;
export type ConfigWritten = Static<typeof ConfigWrittenSchema>;
export type ConfigSchemaItem = Static<typeof ConfigSchemaItemSchema>;
export type ConfigHistoryEntry = Static<typeof ConfigHistorySchema>;
export type ApiKey = Static<typeof KeySchema>;
export type ApiKeyWithToken = Static<typeof KeyWithTokenSchema>;
export type ApiKeyPut = Static<typeof KeyPutSchema>;
export type AuditEntry = Static<typeof AuditEntrySchema>;
export type ApplyResult = Static<typeof ApplyResultSchema>;
export type Health = Static<typeof HealthSchema>;
export type ErrorBody = Static<typeof ErrorBody>;

// Analytics (Shortlinker's shapes: docs/api.md#analytics).

export const TrendSchema = Type.Object({ labels: Type.Array(Str), values: Type.Array(Int) }, closed);

export const TopLinkSchema = Type.Object({ code: Str, clicks: Int }, closed);

export const TagClicksSchema = Type.Object(
  {
    tag: Str,
    clicks: Int,
    links: Type.Integer({ minimum: 0, description: "Links with the tag clicked in the range" }),
  },
  closed,
);

export const ReferrerSchema = Type.Object({ referrer: Str, count: Int, percentage: Type.Number() }, closed);

export const GeoCountSchema = Type.Object({ country: Str, city: Nullable(Str), count: Int }, closed);

const NamedCountSchema = Type.Object({ name: Str, count: Int, percentage: Type.Number() }, closed);

export const DevicesSchema = Type.Object(
  {
    browsers: Type.Array(NamedCountSchema),
    operating_systems: Type.Array(NamedCountSchema),
    devices: Type.Array(NamedCountSchema),
    bot_percentage: Type.Number(),
    total_with_ua: Int,
  },
  closed,
);

export const LinkAnalyticsSchema = Type.Object(
  {
    code: Str,
    total_clicks: Int,
    trend: TrendSchema,
    top_referrers: Type.Array(ReferrerSchema),
    geo_distribution: Type.Array(GeoCountSchema),
  },
  closed,
);

const PeriodTotals = {
  start: Time,
  end: Type.String({ format: "date-time", description: "exclusive" }),
  clicks: Int,
  bot_clicks: Type.Integer({ minimum: 0, description: "Clicks recorded in detail and flagged as bots" }),
  detailed_clicks: Type.Integer({ minimum: 0, description: "Clicks recorded in detail" }),
  visitors: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description:
      "Distinct visitors among the recorded clicks (a visitor is one per UTC day); null unless analytics.unique_visitors is on",
  }),
  links_clicked: Int,
};

export const SummarySchema = Type.Object(
  {
    ...PeriodTotals,
    previous: Type.Object(PeriodTotals, closed),
    change_percentage: Nullable(Type.Number()),
  },
  closed,
);

export const ErasedSchema = Type.Object(
  {
    code: Str,
    deleted_rows: Type.Integer({ minimum: 0, description: "Hourly and daily count rows deleted" }),
    deleted_events: Type.Integer({ minimum: 0, description: "Detailed events deleted" }),
  },
  closed,
);

/** One recorded click (GET /analytics/clicks; jmp). */
export const ClickEventSchema = Type.Object(
  {
    id: Int,
    code: Str,
    clicked_at: Time,
    referrer: Nullable(Str),
    source: Str,
    browser: Nullable(Str),
    os: Nullable(Str),
    device: Str,
    is_bot: Type.Boolean(),
    country: Nullable(Str),
    city: Nullable(Str),
    ip: Nullable(Str),
    visitor: Nullable(Str),
  },
  closed,
);

export const ClickPageSchema = Type.Object(
  {
    clicks: Type.Array(ClickEventSchema),
    next_cursor: Type.Union([Str, Type.Null()], {
      description: "Pass as `cursor` for the next (older) page; null at the end",
    }),
  },
  closed,
);

export type TrendData = Static<typeof TrendSchema>;
export type SummaryData = Static<typeof SummarySchema>;
export type TopLink = Static<typeof TopLinkSchema>;
export type TagClicks = Static<typeof TagClicksSchema>;
export type ReferrerCount = Static<typeof ReferrerSchema>;
export type GeoCount = Static<typeof GeoCountSchema>;
export type DevicesData = Static<typeof DevicesSchema>;
export type LinkAnalyticsData = Static<typeof LinkAnalyticsSchema>;
export type ClickEventData = Static<typeof ClickEventSchema>;
export type ClickPageData = Static<typeof ClickPageSchema>;
