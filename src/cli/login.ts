/**
 * `jmp login [URL]` and `jmp logout`: from the quick start's printed password to a CLI credential in one step.
 * Login asks for the admin password (TTY prompt, stdin or --password-file), creates a named personal API key
 * with the scopes asked for, and keeps URL + token in `$XDG_CONFIG_HOME/jmp/credentials.json` (default
 * `~/.config/jmp/`, the file 0600, the folder 0700). Online commands use it when `JMP_URL` is not set; the
 * environment always wins. Logout revokes the key on the server, then forgets it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, hostname, userInfo } from "node:os";
import path from "node:path";
import { JmpApiError, JmpClient } from "../client/index.js";
import { CliError } from "./errors.js";
import { readSecret } from "./reset-password.js";

export interface StoredCredentials {
  url: string;
  token: string;
  key_id: string;
  name: string;
  scopes: string[];
  created_at: string;
}

export const DEFAULT_URL = "http://127.0.0.1:8080";

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(homedir(), ".config");
  return path.join(base, "jmp", "credentials.json");
}

export function readStoredCredentials(file = credentialsPath()): StoredCredentials | null {
  if (!existsSync(file)) return null;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<StoredCredentials>;
    if (typeof parsed.url !== "string" || typeof parsed.token !== "string") throw new Error("incomplete");
    return parsed as StoredCredentials;
  } catch {
    throw new CliError(`${file} is not a credentials file jmp wrote; run \`jmp login\` again or delete it`);
  }
}

function writeStoredCredentials(file: string, credentials: StoredCredentials): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/** A key name that says where the credential lives: `cli-alice-laptop` (the server refuses duplicates). */
function defaultKeyName(): string {
  let user = "user";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid)
  }
  const clean = (text: string) => text.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  return `cli-${clean(user)}-${clean(hostname())}`.slice(0, 48) + `-${stamp}`;
}

export interface LoginOptions {
  passwordFile?: string;
  name?: string;
  scope?: string[];
  expiresIn?: string;
}

export async function login(
  urlArgument: string | undefined,
  options: LoginOptions,
): Promise<StoredCredentials> {
  const url = (urlArgument ?? process.env.JMP_URL ?? DEFAULT_URL).replace(/\/+$/, "");
  const file = credentialsPath();
  const previous = readStoredCredentials(file);
  const password = await readSecret(options.passwordFile, `Admin password for ${url}: `, false);
  const session = await JmpClient.login({ url, password });
  const { data: key } = await session.keys.create({
    name: options.name ?? defaultKeyName(),
    scopes: options.scope?.length ? options.scope : ["admin"],
    description: `jmp login on ${hostname()}`,
    ...(options.expiresIn ? { expires_in: options.expiresIn } : {}),
  });
  const credentials: StoredCredentials = {
    url,
    token: key.token,
    key_id: key.id,
    name: key.name,
    scopes: key.scopes,
    created_at: new Date().toISOString(),
  };
  writeStoredCredentials(file, credentials);
  // The key this login replaces would otherwise stay valid on the server, unknown to anyone.
  if (previous) await revokeQuietly(previous);
  return credentials;
}

async function revokeQuietly(credentials: StoredCredentials): Promise<boolean> {
  try {
    await new JmpClient({ url: credentials.url, token: credentials.token }).auth.revokeOwnKey();
    return true;
  } catch (err) {
    // 401: already revoked or expired — nothing left to undo.
    if (err instanceof JmpApiError && err.status === 401) return false;
    throw err;
  }
}

export async function logout(): Promise<{ file: string; revoked: boolean } | null> {
  const file = credentialsPath();
  const stored = readStoredCredentials(file);
  if (!stored) return null;
  const revoked = await revokeQuietly(stored);
  rmSync(file);
  return { file, revoked };
}
