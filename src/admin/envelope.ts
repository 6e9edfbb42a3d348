/**
 * The Shortlinker response envelope: `{code, message, data}` on success (`code: 0`), `{code, message}` on error
 * (no `data` key). jmp adds `error` (a stable snake_case name) and, for validation failures, `fields` — extra
 * keys that old clients ignore. Every error leaving the Admin or health API passes through `toErrorBody`.
 */
import type { FastifyError } from "fastify";
import { AppError, ErrorCode, type ErrorCodeValue } from "../errors.js";
import { databaseErrorKind, isUniqueViolation } from "../store/db.js";

export interface Pagination {
  page: number;
  page_size: number;
  total: number;
  total_pages: number;
}

export function ok<T>(data: T, message = "OK") {
  return { code: 0 as const, message, data };
}

export function paginated<T>(data: T[], page: number, pageSize: number, total: number) {
  const pagination: Pagination = {
    page,
    page_size: pageSize,
    total,
    total_pages: Math.ceil(total / pageSize),
  };
  return { code: 0 as const, message: "OK", data, pagination };
}

export interface ErrorBody {
  code: ErrorCodeValue;
  message: string;
  error: string;
  fields?: { field: string; message: string }[];
  details?: Record<string, unknown>;
}

export interface MappedError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Unexpected: log it with its stack. */
  unexpected: boolean;
}

/** Maps anything thrown in a route to a status and an envelope. Never echoes internal details to the client. */
export function mapError(err: unknown): MappedError {
  if (err instanceof AppError) {
    return {
      status: err.status,
      body: {
        code: err.code,
        message: err.message,
        error: err.error,
        ...(err.details ? { details: err.details } : {}),
        ...(err.fields ? { fields: err.fields } : {}),
      },
      headers: err.headers,
      unexpected: false,
    };
  }
  const fe = err as FastifyError & {
    validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
    validationContext?: string;
  };
  if (fe?.validation) {
    const fields = fe.validation.map((v) => ({
      field: fieldName(fe.validationContext, v.instancePath, v.params),
      message: v.message ?? "is invalid",
    }));
    const first = fields[0];
    return clientError(
      400,
      ErrorCode.BadRequest,
      "validation_failed",
      first ? `Invalid ${first.field}: ${first.message}` : "Invalid request",
      fields,
    );
  }
  switch (fe?.code) {
    case "FST_ERR_BAD_URL":
      return clientError(400, ErrorCode.BadRequest, "bad_url", "Malformed URL (invalid percent-encoding)");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return clientError(413, ErrorCode.BadRequest, "body_too_large", "Request body is too large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return clientError(
        415,
        ErrorCode.BadRequest,
        "unsupported_media_type",
        "Unsupported Content-Type; send application/json",
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return clientError(
        400,
        ErrorCode.BadRequest,
        "malformed_json",
        "Request body is empty; send a JSON object",
      );
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return clientError(400, ErrorCode.BadRequest, "malformed_json", "Malformed request body");
  }
  // A body that is not valid JSON: the parser's SyntaxError carries status 400.
  if (err instanceof SyntaxError || fe?.statusCode === 400) {
    return clientError(400, ErrorCode.BadRequest, "malformed_json", "Malformed JSON body");
  }
  if (typeof fe?.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    return clientError(fe.statusCode, ErrorCode.BadRequest, "bad_request", "Bad request");
  }
  // A unique violation that reaches here is a race a retry did not settle: a conflict, not a server bug.
  if (isUniqueViolation(err)) {
    return clientError(409, ErrorCode.Conflict, "conflict", "A concurrent write got in the way; try again");
  }
  switch (databaseErrorKind(err)) {
    case "input":
      return clientError(
        400,
        ErrorCode.BadRequest,
        "bad_request",
        "The database refused a value in the request",
      );
    case "conflict":
      return clientError(409, ErrorCode.Conflict, "conflict", "A concurrent write got in the way; try again");
    case "unavailable":
      return {
        ...clientError(
          503,
          ErrorCode.ServiceUnavailable,
          "database_unavailable",
          "The database is unavailable",
        ),
        headers: { "Retry-After": "5" },
      };
  }
  return {
    status: 500,
    body: { code: ErrorCode.InternalServerError, message: "Internal server error", error: "internal_error" },
    headers: {},
    unexpected: true,
  };
}

function clientError(
  status: number,
  code: ErrorCodeValue,
  error: string,
  message: string,
  fields?: ErrorBody["fields"],
): MappedError {
  return {
    status,
    body: { code, message, error, ...(fields ? { fields } : {}) },
    headers: {},
    unexpected: false,
  };
}

function fieldName(
  context: string | undefined,
  instancePath: string | undefined,
  params?: Record<string, unknown>,
): string {
  const path = (instancePath ?? "").replace(/^\//, "").replaceAll("/", ".");
  const extra = params?.additionalProperty ?? params?.missingProperty;
  const name = [path, typeof extra === "string" ? extra : ""].filter(Boolean).join(".");
  return name || (context ?? "body");
}
