/**
 * The process logger (pino). JSON by default, one line per event, for log shippers; `JMP_LOG_FORMAT=text`
 * prints human-readable lines. Credentials are redacted wherever a header or cookie could be logged.
 */
import { type Logger, pino } from "pino";
import pretty from "pino-pretty";
import type { LogFormat, LogLevel } from "./settings.js";

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
      censor: "[REDACTED]",
    },
  };
  if (format === "text")
    return pino(
      options,
      pretty({ sync: true, translateTime: "SYS:standard", ignore: "pid,hostname,service" }),
    );
  return pino(options);
}
