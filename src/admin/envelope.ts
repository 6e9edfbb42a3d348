/**
 * The Shortlinker response envelope: `{code, message, data}` on success (`code: 0`), `{code, message}` on error
 * (no `data` key). jmp adds `error` (a stable snake_case name) and, for validation failures, `fields` — extra
 * keys that old clients ignore. Every error leaving the Admin or health API passes through `toErrorBody`.
 */
import { STATUS_CODES } from "node:http";
import type { FastifyError } from "fastify";
import {
  AppError,
  badRequest,
  badUrl,
  bodyTooLarge,
  conflict,
  databaseUnavailable,
  type ErrorCodeValue,
  headersTooLarge,
  internalError,
  malformedJson,
  requestTimeout,
  unsupportedMediaType,
  validationFailed,
} from "../errors.js";
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
  if (err instanceof AppError) return mapped(err);
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
    return mapped(
      validationFailed(first ? `Invalid ${first.field}: ${first.message}` : "Invalid request", fields),
    );
  }
  switch (fe?.code) {
    case "FST_ERR_BAD_URL":
      return mapped(badUrl("Malformed URL (invalid percent-encoding)"));
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return mapped(bodyTooLarge());
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return mapped(unsupportedMediaType());
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return mapped(malformedJson("Request body is empty; send a JSON object"));
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return mapped(malformedJson("Malformed request body"));
  }
  // A body that is not valid JSON: the parser's SyntaxError carries status 400.
  if (err instanceof SyntaxError || fe?.statusCode === 400) {
    return mapped(malformedJson("Malformed JSON body"));
  }
  if (typeof fe?.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own 4xx keeps its status.
    return { ...mapped(badRequest("Bad request")), status: fe.statusCode };
  }
  // A unique violation that reaches here is a race a retry did not settle: a conflict, not a server bug.
  if (isUniqueViolation(err)) {
    return mapped(conflict());
  }
  switch (databaseErrorKind(err)) {
    case "input":
      return mapped(badRequest("The database refused a value in the request"));
    case "conflict":
      return mapped(conflict());
    case "unavailable":
      return mapped(databaseUnavailable());
  }
  return { ...mapped(internalError()), unexpected: true };
}

/**
 * The raw HTTP answer to a request Node's parser refused before any route saw it (headers over the size limit,
 * a request that took too long, bytes that are not HTTP), in the same envelope as every other error. The
 * connection is closed after it, as Node does: the parser cannot find where the next request would start.
 */
export function clientErrorAnswer(err: { code?: string }): string {
  const error =
    err.code === "HPE_HEADER_OVERFLOW"
      ? headersTooLarge()
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? requestTimeout()
        : badRequest("Malformed HTTP request");
  const { status, body } = mapped(error);
  const json = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(json)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${json}`
  );
}

function mapped(err: AppError): MappedError {
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
