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

  constructor(
    readonly status: number,
    readonly code: ErrorCodeValue,
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (message: string, error = "bad_request") =>
  new AppError(400, ErrorCode.BadRequest, error, message);
export const notFound = (message = "Link not found") =>
  new AppError(404, ErrorCode.NotFound, "not_found", message);

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
