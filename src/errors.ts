/**
 * Errors that reach API clients. `code` is the Shortlinker-compatible numeric code, `error` a stable
 * snake_case name (additive: old clients ignore it), `status` the HTTP status.
 */
export const ErrorCode = {
  BadRequest: 1000,
  Unauthorized: 1001,
  NotFound: 1004,
  InternalServerError: 1005,
  Conflict: 1009,
  BatchSizeTooLarge: 1010,
  FileTooLarge: 1011,
  InvalidDateFormat: 1012,
  ServiceUnavailable: 1030,
  AuthFailed: 2000,
  TokenInvalid: 2002,
  CsrfInvalid: 2003,
  RateLimitExceeded: 2004,
  LinkNotFound: 3000,
  LinkAlreadyExists: 3001,
  LinkInvalidUrl: 3002,
  LinkInvalidExpireTime: 3003,
  LinkInvalidCode: 3007,
  LinkReservedCode: 3008,
  InvalidMultipartData: 4002,
  CsvFileMissing: 4004,
  CsvParseError: 4005,
  ConfigNotFound: 5000,
  AnalyticsInvalidDateRange: 6002,
  KeyNotFound: 7000,
  KeyNameTaken: 7001,
  InvalidScope: 7002,
  InvalidExpiry: 7003,
  ManagedByEnvironment: 7004,
  ManagedByProvisioning: 7005,
  PreconditionFailed: 7006,
  InsufficientScope: 7007,
  KeyTokenTaken: 7008,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One invalid input field: `field` is a path such as `links[3].target`. */
export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  /** Machine-readable context for the client (e.g. the id of the existing object on a conflict). */
  details?: Record<string, unknown>;
  /** Every invalid field, for errors about a whole document or batch (same shape as schema validation errors). */
  fields?: FieldError[];

  /** Built only by the factories below: each name has one status and one code. */
  constructor(
    readonly status: number,
    readonly code: ErrorCodeValue,
    readonly error: ErrorName,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

interface ErrorKind {
  status: number;
  code: ErrorCodeValue;
  /** When a client gets it: the "When" column of docs/api.md's error table (`npm run docs`). */
  when: string;
}

/**
 * Every error the Admin and health APIs answer, by its stable snake_case name (the envelope's `error`): the HTTP
 * status and the Shortlinker-compatible numeric code are paired here once. Ordered as docs/api.md lists them.
 */
export const ERRORS = {
  validation_failed: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "wrong types, unknown keys or a bad query; `fields` lists each problem",
  },
  malformed_json: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "a body that is not JSON, or an empty one",
  },
  too_deep: { status: 400, code: ErrorCode.BadRequest, when: "JSON nested deeper than 64 levels" },
  bad_request: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "a parameter that breaks a rule, or a value the database refuses (too long, not valid text)",
  },
  bad_url: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "malformed percent-encoding in the path, or `%00` (a NUL byte) anywhere in the URL",
  },
  invalid_document: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "an apply document with problems; `fields` lists each one by path (`links[3].target`)",
  },
  invalid_value: { status: 400, code: ErrorCode.BadRequest, when: "a config value its key does not accept" },
  no_action: { status: 400, code: ErrorCode.BadRequest, when: "an action on a config key that has none" },
  unsupported_action: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "an action a config key does not support",
  },
  invalid_click_count: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "an import row whose `click_count` is not a non-negative integer",
  },
  invalid_password: {
    status: 400,
    code: ErrorCode.BadRequest,
    when: "an import row whose password looks like a hash but is not a valid `$argon2id$` string",
  },
  invalid_url: {
    status: 400,
    code: ErrorCode.LinkInvalidUrl,
    when: "a link target that is not an http(s) URL",
  },
  invalid_expires_at: {
    status: 400,
    code: ErrorCode.LinkInvalidExpireTime,
    when: "a link expiry that is neither RFC 3339 nor a relative duration, or is in the past",
  },
  invalid_code: {
    status: 400,
    code: ErrorCode.LinkInvalidCode,
    when: "a short code outside the allowed syntax",
  },
  reserved_code: {
    status: 400,
    code: ErrorCode.LinkReservedCode,
    when: "a short code under a route prefix or a reserved path",
  },
  batch_too_large: {
    status: 400,
    code: ErrorCode.BatchSizeTooLarge,
    when: "a batch of more than 5 000 items",
  },
  file_too_large: { status: 400, code: ErrorCode.FileTooLarge, when: "an import file over 10 MiB" },
  invalid_date: {
    status: 400,
    code: ErrorCode.InvalidDateFormat,
    when: "a date filter or `created_at` that is not RFC 3339",
  },
  invalid_date_range: {
    status: 400,
    code: ErrorCode.AnalyticsInvalidDateRange,
    when: "an analytics `start_date`/`end_date` that is neither RFC 3339 nor YYYY-MM-DD, a start after the end, or a range too long for its `group_by`",
  },
  invalid_multipart: {
    status: 400,
    code: ErrorCode.InvalidMultipartData,
    when: "an import that is not multipart/form-data with a file",
  },
  csv_missing: { status: 400, code: ErrorCode.CsvFileMissing, when: "an import without a CSV file" },
  invalid_scope: {
    status: 400,
    code: ErrorCode.InvalidScope,
    when: "an API key with no scope or an unknown one",
  },
  invalid_expiry: {
    status: 400,
    code: ErrorCode.InvalidExpiry,
    when: "an API key expiry that is invalid, in the past, or given twice (`expires_at` and `expires_in`)",
  },
  unauthorized: {
    status: 401,
    code: ErrorCode.Unauthorized,
    when: "a missing or invalid credential (`WWW-Authenticate: Bearer`)",
  },
  invalid_credentials: { status: 401, code: ErrorCode.AuthFailed, when: "a wrong login password" },
  token_invalid: { status: 401, code: ErrorCode.TokenInvalid, when: "a missing or invalid refresh token" },
  csrf_invalid: {
    status: 403,
    code: ErrorCode.CsrfInvalid,
    when: "a cookie-authenticated write without a matching `X-CSRF-Token`",
  },
  insufficient_scope: {
    status: 403,
    code: ErrorCode.InsufficientScope,
    when: "the credential lacks the route's scope, or the scopes of the key it acts on",
  },
  not_found: { status: 404, code: ErrorCode.NotFound, when: "an unknown link, tag or route" },
  config_not_found: { status: 404, code: ErrorCode.ConfigNotFound, when: "an unknown config key" },
  key_not_found: { status: 404, code: ErrorCode.KeyNotFound, when: "an unknown API key (revoked keys too)" },
  already_exists: {
    status: 409,
    code: ErrorCode.LinkAlreadyExists,
    when: "the code is taken (use `force: true` to overwrite)",
  },
  key_name_taken: {
    status: 409,
    code: ErrorCode.KeyNameTaken,
    when: "an active API key has this name (`details.existing_id`)",
  },
  key_token_taken: {
    status: 409,
    code: ErrorCode.KeyTokenTaken,
    when: "another active key has this token (a revoked key's token can be declared again)",
  },
  managed_by_provisioning: {
    status: 409,
    code: ErrorCode.ManagedByProvisioning,
    when: "the link, key or config key belongs to an apply document or the provisioning file",
  },
  managed_by_environment: {
    status: 409,
    code: ErrorCode.ManagedByEnvironment,
    when: "the key or config value is set by a `JMP_*` variable",
  },
  conflict: {
    status: 409,
    code: ErrorCode.Conflict,
    when: "a concurrent write got in the way (deadlock or serialisation failure after retries): try again",
  },
  request_timeout: {
    status: 408,
    code: ErrorCode.BadRequest,
    when: "headers not received within 15 s, or a whole request within 120 s; the connection is closed",
  },
  precondition_failed: {
    status: 412,
    code: ErrorCode.PreconditionFailed,
    when: "`If-Match` names an older version, or `If-None-Match: *` and the object exists",
  },
  body_too_large: {
    status: 413,
    code: ErrorCode.BadRequest,
    when: "a JSON body over 1 MiB (8 MiB for batches, 16 MiB for apply documents)",
  },
  unsupported_media_type: { status: 415, code: ErrorCode.BadRequest, when: "a body that is not JSON" },
  headers_too_large: {
    status: 431,
    code: ErrorCode.BadRequest,
    when: "a request line and headers over 16 KiB together (a URL that long included); the connection is closed",
  },
  rate_limited: {
    status: 429,
    code: ErrorCode.RateLimitExceeded,
    when: "too many failed logins, refreshes or credentials (`Retry-After` header)",
  },
  internal_error: {
    status: 500,
    code: ErrorCode.InternalServerError,
    when: "an unexpected failure (details only in the server log)",
  },
  database_unavailable: {
    status: 503,
    code: ErrorCode.ServiceUnavailable,
    when: "the database cannot be reached or did not answer in time (`Retry-After`)",
  },
} as const satisfies Record<string, ErrorKind>;

export type ErrorName = keyof typeof ERRORS;

/** The error named `name`, with its status and code from the catalogue. */
export function apiError(name: ErrorName, message: string, headers: Record<string, string> = {}): AppError {
  const kind: ErrorKind = ERRORS[name];
  return new AppError(kind.status, kind.code, name, message, headers);
}

function withFields(err: AppError, fields: FieldError[] | undefined): AppError {
  if (fields) err.fields = fields;
  return err;
}

// Requests and documents
export const validationFailed = (message: string, fields?: FieldError[]) =>
  withFields(apiError("validation_failed", message), fields);
export const malformedJson = (message: string) => apiError("malformed_json", message);
export const tooDeep = (max: number) => apiError("too_deep", `JSON nested deeper than ${max} levels`);
export const badRequest = (message: string) => apiError("bad_request", message);
export const badUrl = (message: string) => apiError("bad_url", message);
export const headersTooLarge = () =>
  apiError("headers_too_large", "Request line and headers are too large (16 KiB at most)");
export const requestTimeout = () => apiError("request_timeout", "The request was not received in time");
export const invalidDocument = (message: string, fields: FieldError[]) =>
  withFields(apiError("invalid_document", message), fields);
export const bodyTooLarge = () => apiError("body_too_large", "Request body is too large");
export const unsupportedMediaType = () =>
  apiError("unsupported_media_type", "Unsupported Content-Type; send application/json");
export const invalidDate = (message: string) => apiError("invalid_date", message);
export const invalidDateRange = (message: string) => apiError("invalid_date_range", message);

// Credentials and scopes
export const unauthorized = () =>
  apiError("unauthorized", "Unauthorized: Invalid or missing token", { "WWW-Authenticate": "Bearer" });
export const invalidCredentials = () => apiError("invalid_credentials", "Invalid admin token");
export const tokenInvalid = (message: string) => apiError("token_invalid", message);
export const csrfInvalid = () => apiError("csrf_invalid", "CSRF token missing or invalid");
export const insufficientScope = (message: string) => apiError("insufficient_scope", message);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  apiError("rate_limited", message, { "Retry-After": String(retryAfterSeconds) });

// Links
export const notFound = (message = "Link not found") => apiError("not_found", message);
export const linkExists = (code: string) =>
  apiError("already_exists", `Code '${code}' already exists. Use force=true to overwrite.`);
export const invalidUrl = (reason: string) => apiError("invalid_url", reason);
export const invalidExpiresAt = (reason: string) => apiError("invalid_expires_at", reason);
export const invalidCode = (reason: string) => apiError("invalid_code", reason);
export const reservedCode = (reason: string) => apiError("reserved_code", reason);
export const invalidClickCount = () =>
  apiError("invalid_click_count", "click_count must be a non-negative integer");
export const invalidPassword = (message: string) => apiError("invalid_password", message);
export const batchTooLarge = (size: number, max: number) =>
  apiError("batch_too_large", `Batch size ${size} exceeds maximum ${max}`);
export const fileTooLarge = (message: string) => apiError("file_too_large", message);
export const invalidMultipart = (message: string) => apiError("invalid_multipart", message);
export const csvMissing = () => apiError("csv_missing", "No CSV file provided");

// Ownership and versions (links, keys, config)
export const managedByProvisioning = (message: string) => apiError("managed_by_provisioning", message);
export const linkManaged = (code: string) =>
  managedByProvisioning(
    `Link '${code}' is managed by an apply document; change it there (or let the document allow API edits)`,
  );
export const keyManaged = (name: string) =>
  managedByProvisioning(`API key '${name}' is managed by the provisioning file; change it there`);
export const managedByEnvironment = (message: string) => apiError("managed_by_environment", message);
export const preconditionFailed = (message: string) => apiError("precondition_failed", message);
export const conflict = () => apiError("conflict", "A concurrent write got in the way; try again");
export const databaseUnavailable = () =>
  apiError("database_unavailable", "The database is unavailable", { "Retry-After": "5" });
export const internalError = () => apiError("internal_error", "Internal server error");

// Config
export const configNotFound = (message: string) => apiError("config_not_found", message);
export const invalidValue = (message: string) => apiError("invalid_value", message);
export const noAction = (message: string) => apiError("no_action", message);
export const unsupportedAction = (message: string) => apiError("unsupported_action", message);

// API keys
export const keyNotFound = () => apiError("key_not_found", "API key not found");
export const keyNameTaken = (name: string) =>
  apiError("key_name_taken", `An API key named '${name}' already exists`);
export const keyTokenTaken = (message: string) => apiError("key_token_taken", message);
export const invalidScope = (message: string) => apiError("invalid_scope", message);
export const invalidExpiry = (message: string) => apiError("invalid_expiry", message);

/** A startup setting (`JMP_*` variable or its `_FILE`) that is missing or invalid: the process does not start. */
export class SettingsError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "SettingsError";
  }
}
