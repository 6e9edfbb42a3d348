/**
 * The panel's way to the Admin API: the same typed client scripts use (`jmp/client`), so a change of the API's
 * shapes fails the panel's type-check. The panel signs in with the session cookies instead of a token:
 * - every write carries `X-CSRF-Token` (the double-submit value of the `csrf_token` cookie);
 * - a 401 triggers one refresh (`POST /auth/refresh`, shared by concurrent calls) and one retry; if that fails
 *   the session is over and the panel shows the login page.
 */
import { JmpApiError, JmpClient } from "../../src/client/index.js";
import { CONFIG } from "./config.js";

export { JmpApiError };
export { ANALYTICS_FILTERS } from "../../src/client/index.js";
export type * from "../../src/client/index.js";

export const API_BASE = `${CONFIG.admin}/v1`;

/** What an error answer holds (the client's error type reads it). */
type ErrorEnvelope = ConstructorParameters<typeof JmpApiError>[1];

export function csrfToken(): string | undefined {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "csrf_token") return decodeURIComponent(value.join("="));
  }
  return undefined;
}

/** Called when the session cannot be renewed (set by the app: back to the login page). */
let onSignedOut: () => void = () => {};
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

let refreshing: Promise<boolean> | null = null;

/** One refresh at a time: concurrent 401s wait for the same answer. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= sessionFetch(`${API_BASE}/auth/refresh`, { method: "POST" })
    .then((response) => response.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** fetch with the session cookie and, on writes, the CSRF header. */
export function sessionFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const method = (init.method ?? "GET").toUpperCase();
  const token = csrfToken();
  if (method !== "GET" && method !== "HEAD" && token) headers.set("x-csrf-token", token);
  return fetch(input, { ...init, headers, credentials: "same-origin" });
}

function isAuthCall(input: RequestInfo | URL): boolean {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  return /\/auth\/(login|refresh)(\?|$)/.test(url);
}

/** sessionFetch, renewing the session once on a 401. */
export async function apiFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  let response = await sessionFetch(input, init);
  if (response.status !== 401 || isAuthCall(input)) return response;
  if (await refreshSession()) response = await sessionFetch(input, init);
  if (response.status === 401) onSignedOut();
  return response;
}

export const api = new JmpClient({
  url: location.origin,
  token: "",
  adminPrefix: CONFIG.admin,
  fetch: apiFetch as typeof fetch,
});

/** The error text to show: the server's message, with its field errors. */
export function messageOf(err: unknown): string {
  if (err instanceof JmpApiError) {
    const fields = err.fields.map((f) => `${f.field}: ${f.message}`);
    return fields.length > 0 ? `${err.message} (${fields.join("; ")})` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Logs in; answers null, or the error to show (with the seconds to wait after too many attempts). */
export async function login(
  password: string,
): Promise<{ status: number; message: string; retryAfter: number | null } | null> {
  const response = await sessionFetch(`${API_BASE}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password }),
  });
  if (response.ok) return null;
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  const retry = response.headers.get("retry-after");
  return {
    status: response.status,
    message: body.message ?? `HTTP ${response.status}`,
    retryAfter: retry === null ? null : Number(retry),
  };
}

export async function logout(everywhere: boolean): Promise<void> {
  if (everywhere) await apiFetch(`${API_BASE}/auth/logout-everywhere`, { method: "POST" });
  // Ending every session may already have expired this browser's cookies: then there is nothing left to end.
  if (csrfToken()) await sessionFetch(`${API_BASE}/auth/logout`, { method: "POST" });
}

/** GET of a file (CSV export): saved under the name the server gives, or `fallback`. */
export async function download(path: string, fallback: string): Promise<void> {
  const response = await apiFetch(`${API_BASE}${path}`);
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `HTTP ${response.status}`);
  }
  const disposition = response.headers.get("content-disposition") ?? "";
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallback;
  saveBlob(await response.blob(), name);
}

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A multipart upload with progress (CSV import). fetch cannot report upload progress in browsers (streamed
 * request bodies need HTTP/2), so this is the one XMLHttpRequest of the panel.
 */
export function upload<T>(
  path: string,
  form: FormData,
  onProgress: (sent: number, total: number) => void,
): Promise<T> {
  const send = () =>
    new Promise<{ status: number; body: ErrorEnvelope & { data?: T } }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${API_BASE}${path}`);
      const token = csrfToken();
      if (token) xhr.setRequestHeader("x-csrf-token", token);
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
      xhr.onload = () => {
        let body = {};
        try {
          body = JSON.parse(xhr.responseText) as object;
        } catch {
          // not JSON: reported by status below
        }
        resolve({ status: xhr.status, body });
      };
      xhr.onerror = () => reject(new Error("the upload failed (network error)"));
      xhr.send(form);
    });
  return (async () => {
    let answer = await send();
    if (answer.status === 401 && (await refreshSession())) answer = await send();
    if (answer.status === 401) onSignedOut();
    if (answer.status >= 400) throw new JmpApiError(answer.status, answer.body);
    return answer.body.data as T;
  })();
}
