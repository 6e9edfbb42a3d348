/**
 * The process logger (pino). JSON by default, one line per event, for log shippers; `JMP_LOG_FORMAT=text`
 * prints human-readable lines.
 *
 * Credentials are redacted twice. By path, for the objects jmp logs itself; and on every line as it is written,
 * by name and by value, so a header that a library logs under some other path (the multipart plugin logs the
 * whole request at trace level) is redacted too: any JSON member named like a credential-carrying header, any
 * `Bearer …`/`Basic …` value, any `jmp_` token and any session or CSRF cookie pair.
 */
import { type Logger, pino } from "pino";
import pretty from "pino-pretty";
import { REDACTED } from "./text.js";

export type LogFormat = "json" | "text";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Header (and field) names whose values are credentials, wherever they appear in a log line. */
const CREDENTIAL_NAMES = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-csrf-token",
  "x-link-password",
  "x-jmp-token",
  "password",
  "access_token",
  "token",
];
const JSON_STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const BY_NAME = new RegExp(
  String.raw`"(${CREDENTIAL_NAMES.join("|")})"\s*:\s*(?:${JSON_STRING}|\[\s*(?:${JSON_STRING}\s*,?\s*)*\])`,
  "gi",
);
const BY_VALUE: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[^\s"',;\\]+/gi, `$1 ${REDACTED}`],
  [/\bjmp_[0-9A-Za-z]{16,}/g, REDACTED],
  [/\b(jmp_access|jmp_refresh|csrf_token)=[^;\s"\\]+/g, `$1=${REDACTED}`],
];

/** Redacts credentials in one serialized log line (JSON): by member name, then by value. */
export function redactLine(line: string): string {
  let out = line.replace(BY_NAME, (_match, name: string) => `"${name}":"${REDACTED}"`);
  for (const [pattern, replacement] of BY_VALUE) out = out.replace(pattern, replacement);
  return out;
}

export function createLogger(level: LogLevel, format: LogFormat): Logger {
  const options = {
    level,
    base: { service: "jmp" },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "password",
        "*.password",
      ],
      censor: REDACTED,
    },
    hooks: { streamWrite: redactLine },
  };
  if (format === "text")
    return pino(
      options,
      pretty({ sync: true, translateTime: "SYS:standard", ignore: "pid,hostname,service" }),
    );
  return pino(options);
}
