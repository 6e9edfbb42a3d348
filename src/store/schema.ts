/**
 * Table shapes as Kysely sees them. Conventions that hold on all three engines:
 * - times are epoch milliseconds (BIGINT, UTC by definition): no engine time-zone or precision surprises;
 * - booleans are SMALLINT 0/1 (SQLite has no boolean type, and better-sqlite3 cannot bind JS booleans);
 * - link codes compare case-sensitively (binary collation on MySQL/MariaDB).
 */
import type { ColumnType, Generated } from "kysely";

export interface LinksTable {
  code: string;
  target: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  /** Not yet enforced: reserved for "valid from" scheduling. */
  valid_from: number | null;
  password_hash: string | null;
  /** null = the runtime default redirect status. */
  redirect_status: number | null;
  enabled: ColumnType<number, number | undefined, number>;
  max_clicks: number | null;
  click_count: ColumnType<number, number | undefined, number>;
  title: string | null;
  notes: string | null;
  fallback_url: string | null;
  forward_query: ColumnType<number, number | undefined, number>;
  crawlable: ColumnType<number, number | undefined, number>;
  /** JSON array of redirect rules. */
  rules: string | null;
  /** Who owns the object: null = the API; "file" = a provisioning file. */
  managed_by: string | null;
  /** Incremented on every write; the basis of ETags. */
  revision: ColumnType<number, number | undefined, number>;
}

export interface LinkTagsTable {
  code: string;
  tag: string;
}

export interface RuntimeConfigTable {
  key: string;
  value: string;
  updated_at: number;
  updated_by: string | null;
}

export interface ConfigHistoryTable {
  id: Generated<number>;
  config_key: string;
  old_value: string | null;
  new_value: string;
  changed_at: number;
  changed_by: string | null;
}

export interface ChangesTable {
  id: Generated<number>;
  created_at: number;
  /** The instance that made the change (it has applied it already). */
  origin: string;
  /** JSON of a ChangeEvent. */
  event: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  /** The name while active, NULL once revoked (keeps names unique among active keys only). */
  active_name: string | null;
  token_sha256: string;
  /** The digest while active, NULL once revoked (a revoked key's digest can be declared again). */
  active_sha256: string | null;
  /** Safe to show: the prefix and the last characters of the token. */
  display: string;
  /** JSON array of scope names. */
  scopes: string;
  description: string | null;
  expires_at: number | null;
  created_at: number;
  created_by: string;
  updated_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  source: string;
  /** After a rotation: the old token's digest, valid until previous_valid_until. */
  previous_sha256: string | null;
  previous_valid_until: number | null;
  revision: ColumnType<number, number | undefined, number>;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  /** `session`, `api_key:<id>`, `bootstrap:<fingerprint>`, `cli`, `system`. */
  actor: string;
  ip: string | null;
  request_id: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  /** JSON, secrets redacted. */
  before: string | null;
  after: string | null;
}

/** Exact clicks per hour (epoch ms of the hour's start, UTC), per link and for all links (`code = ''`). */
export interface ClickStatsHourlyTable {
  hour: number;
  code: string;
  clicks: Generated<number>;
  bots: Generated<number>;
  detailed: Generated<number>;
}

/** Exact clicks per UTC day (epoch ms of the day's start), per link and for all links (`code = ''`). */
export interface ClickStatsDailyTable {
  day: number;
  code: string;
  clicks: Generated<number>;
  bots: Generated<number>;
  detailed: Generated<number>;
}

/** One recorded click (detailed analytics): what the analytics worker derived from the request, never the raw UA. */
export interface ClickEventsTable {
  id: Generated<number>;
  code: string;
  /** When the redirect was served (epoch ms). */
  clicked_at: number;
  /** The hour `clicked_at` is in (epoch ms of its start): the leading column of the index. */
  hour: number;
  /** The Referer as `analytics.store_referrer` keeps it: the full URL, its host, or null. */
  referrer: string | null;
  /** `utm_source`, else `ref:<host>` of the Referer, else `direct` (Shortlinker's rule). */
  source: string;
  browser: string | null;
  os: string | null;
  /** desktop | mobile | tablet | tv | bot | unknown */
  device: string;
  is_bot: number;
  /** ISO 3166-1 alpha-2, when a GeoIP database knows the address. */
  country: string | null;
  city: string | null;
  /** Anonymised (IPv4 /24, IPv6 /48) unless `analytics.anonymize_ip` is off; null when IP logging is off. */
  ip: string | null;
  /** With analytics.unique_visitors: 16 hex of SHA-256(the day's salt, full address, User-Agent); else null. */
  visitor: string | null;
}

/** The random salt of a UTC day's visitor hashes (epoch ms of the day's start). */
export interface ClickSaltsTable {
  day: number;
  salt: string;
}

/** Clicks per hour by one dimension's value, for all links together; `bot` 1 = clicks flagged as bots. */
export interface ClickDimsHourlyTable {
  hour: number;
  /** source | host | country | city | browser | os | device */
  dim: string;
  value: string;
  bot: number;
  clicks: number;
}

export interface Database {
  links: LinksTable;
  link_tags: LinkTagsTable;
  runtime_config: RuntimeConfigTable;
  config_history: ConfigHistoryTable;
  changes: ChangesTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  click_stats_hourly: ClickStatsHourlyTable;
  click_stats_daily: ClickStatsDailyTable;
  click_events: ClickEventsTable;
  click_dims_hourly: ClickDimsHourlyTable;
  click_salts: ClickSaltsTable;
}
