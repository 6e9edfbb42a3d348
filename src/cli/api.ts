/**
 * The CLI's way to a running server, through the typed client every online command uses (`jmp/client`): `JMP_URL`
 * plus a credential in `JMP_TOKEN` or `JMP_TOKEN_FILE` (an API key or the bootstrap key), or else what
 * `jmp login` stored. The environment always wins.
 */
import { JmpClient } from "../client/index.js";
import { readVariable } from "../settings.js";
import { CliError } from "./errors.js";
import { readStoredCredentials } from "./login.js";

/**
 * The client for the server the environment names, or null when `JMP_URL` is not set. `jmp config` uses only
 * this: without JMP_URL it works on the database, as documented, whoever is logged in.
 */
export function environmentClient(): JmpClient | null {
  const url = readVariable(process.env, "JMP_URL");
  if (!url) return null;
  const token = readVariable(process.env, "JMP_TOKEN");
  if (!token) throw new CliError("JMP_URL is set: give a credential in JMP_TOKEN or JMP_TOKEN_FILE");
  return new JmpClient({ url, token });
}

/** The environment's server, else the one `jmp login` stored; refuses when there is neither. */
export function requireClient(): JmpClient {
  const client = environmentClient();
  if (client) return client;
  const stored = readStoredCredentials();
  if (stored) return new JmpClient({ url: stored.url, token: stored.token });
  throw new CliError(
    "this command talks to a running server: run `jmp login [URL]`, or set JMP_URL and JMP_TOKEN (or JMP_TOKEN_FILE)",
  );
}
