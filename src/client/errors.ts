/** What the client throws: the server's error envelope, or a failure to reach it. */
import type * as Api from "../admin/schemas.js";

/** A failed call: the HTTP status and the error envelope (`code`, `error`, `message`, `fields`). */
export class JmpApiError extends Error {
  readonly status: number;
  /** Shortlinker-compatible numeric code (e.g. 3001 link exists, 7006 precondition failed). */
  readonly code: number;
  /** Stable snake_case name (e.g. `already_exists`, `precondition_failed`, `invalid_document`). */
  readonly error: string;
  readonly fields: { field: string; message: string }[];
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, body: Partial<Api.ErrorBody>) {
    super(body.message ?? `HTTP ${status}`);
    this.name = "JmpApiError";
    this.status = status;
    this.code = body.code ?? 0;
    this.error = body.error ?? "http_error";
    this.fields = body.fields ?? [];
    this.details = body.details;
  }
}

/** The server could not be reached (DNS, refused connection, TLS, timeout). */
export class JmpConnectionError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach ${url}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "JmpConnectionError";
  }
}
