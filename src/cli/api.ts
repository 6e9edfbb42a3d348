/**
 * The CLI's way to a running server: `JMP_URL` plus a credential in `JMP_TOKEN` or `JMP_TOKEN_FILE` (an API key
 * or the bootstrap key). Answers are unwrapped from the envelope; errors become `CliError`s with the server's
 * message.
 */
import { readVariable } from "../settings.js";
import { CliError } from "./errors.js";

export interface ApiTarget {
  url: string;
  token: string;
}

/** The target from the environment, or null when `JMP_URL` is not set. */
export function apiTarget(): ApiTarget | null {
  const url = readVariable(process.env, "JMP_URL");
  if (!url) return null;
  const token = readVariable(process.env, "JMP_TOKEN");
  if (!token) throw new CliError("JMP_URL is set: give a credential in JMP_TOKEN or JMP_TOKEN_FILE");
  return { url: url.replace(/\/+$/, ""), token };
}

export function requireApiTarget(): ApiTarget {
  const target = apiTarget();
  if (!target)
    throw new CliError(
      "this command talks to a running server: set JMP_URL and JMP_TOKEN (or JMP_TOKEN_FILE)",
    );
  return target;
}

export async function apiCall<T>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${target.url}/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new CliError(`cannot reach ${target.url}: ${(err as Error).message}`);
  }
  if (response.status === 204) return undefined as T;
  const envelope = (await response.json().catch(() => null)) as {
    code: number;
    message: string;
    data: T;
  } | null;
  if (!response.ok || !envelope || envelope.code !== 0) {
    throw new CliError(envelope?.message ?? `${method} ${path}: HTTP ${response.status}`);
  }
  return envelope.data;
}
