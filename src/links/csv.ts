/**
 * The links CSV format, shared with Shortlinker: `code,target,created_at,expires_at,password,click_count`.
 * Columns are found by name, so files with extra or reordered columns import too. Passwords travel as Argon2id
 * hashes only in an export asked for with secrets (a full backup); otherwise as `[REDACTED]`. Never in plain text.
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { ErrorCode } from "../errors.js";
import type { Link } from "./model.js";
import type { ImportResult, ImportRow } from "./service.js";

export const CSV_COLUMNS = ["code", "target", "created_at", "expires_at", "password", "click_count"] as const;

export function csvHeader(): string {
  return stringify([CSV_COLUMNS]);
}

/** The password cell of a protected link when hashes are not exported. */
export const REDACTED_PASSWORD = "[REDACTED]";

/**
 * @param withHashes write Argon2id hashes (a full backup, for admins who ask for it); otherwise protected links
 *   say `[REDACTED]`, which an import reads as "keep the existing password".
 */
export function csvRows(links: readonly Link[], withHashes: boolean): string {
  return stringify(
    links.map((link) => [
      link.code,
      link.target,
      new Date(link.createdAt).toISOString(),
      link.expiresAt === null ? "" : new Date(link.expiresAt).toISOString(),
      link.passwordHash === null ? "" : withHashes ? link.passwordHash : REDACTED_PASSWORD,
      String(link.clickCount),
    ]),
  );
}

export interface ParsedImport {
  rows: ImportRow[];
  failures: ImportResult["failed_items"];
}

/** Parses an uploaded file. Malformed records become per-row failures (code 4005); the rest still import. */
export function parseImportCsv(content: Buffer): ParsedImport {
  const failures: ImportResult["failed_items"] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(content, {
      bom: true,
      columns: (header: string[]) => header.map((name) => name.trim().toLowerCase()),
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        if (err) failures.push(parseFailure(typeof err.lines === "number" ? err.lines : null, err.message));
      },
    });
  } catch (err) {
    failures.push(parseFailure(null, (err as Error).message));
    return { rows: [], failures };
  }
  const rows: ImportRow[] = [];
  for (const { record, info } of records) {
    if (!("code" in record) || !("target" in record)) {
      failures.push(parseFailure(info.lines, "the header must name the columns code and target"));
      return { rows: [], failures };
    }
    rows.push({
      line: info.lines,
      code: record.code ?? "",
      target: record.target ?? "",
      created_at: record.created_at ?? "",
      expires_at: record.expires_at ?? "",
      password: record.password ?? "",
      click_count: record.click_count ?? "",
    });
  }
  return { rows, failures };
}

function parseFailure(row: number | null, message: string) {
  return { row, code: "", error: `CSV parse error: ${message}`, error_code: ErrorCode.CsvParseError };
}
