/**
 * The CLI's way to a running server: `JMP_URL` plus a credential in `JMP_TOKEN` or `JMP_TOKEN_FILE` (an API key
 * or the bootstrap key), through the typed client every online command uses (`jmp/client`).
 */
import { JmpClient } from "../client/index.js";
import { readVariable } from "../settings.js";
import { CliError } from "./errors.js";

/** The client for the server in the environment, or null when `JMP_URL` is not set. */
export function apiClient(): JmpClient | null {
  const url = readVariable(process.env, "JMP_URL");
  if (!url) return null;
  const token = readVariable(process.env, "JMP_TOKEN");
  if (!token) throw new CliError("JMP_URL is set: give a credential in JMP_TOKEN or JMP_TOKEN_FILE");
  return new JmpClient({ url, token });
}

export function requireClient(): JmpClient {
  const client = apiClient();
  if (!client) {
    throw new CliError(
      "this command talks to a running server: set JMP_URL and JMP_TOKEN (or JMP_TOKEN_FILE)",
    );
  }
  return client;
}
