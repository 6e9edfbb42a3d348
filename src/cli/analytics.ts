/**
 * `jmp analytics trends|top|link`: the analytics API from a terminal (through the API: `jmp login`, or JMP_URL
 * and JMP_TOKEN). Tables by default, with a sparkline for series; `--json` prints the API's data as is.
 */
import type { Command } from "commander";
import type { AnalyticsQuery } from "../client/index.js";
import { requireClient } from "./api.js";
import { CliError } from "./errors.js";
import { json, printTable, writeOutput } from "./output.js";

const BARS = "▁▂▃▄▅▆▇█";

/** One character per value, scaled to the largest (all zero: the lowest bar). */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => BARS[max === 0 ? 0 : Math.round((v / max) * (BARS.length - 1))]).join("");
}

interface RangeOptions {
  start?: string;
  end?: string;
  groupBy?: string;
  limit?: string;
  tz?: string;
  json?: boolean;
}

function queryOf(options: RangeOptions): AnalyticsQuery {
  const query: AnalyticsQuery = {};
  if (options.start) query.start_date = options.start;
  if (options.end) query.end_date = options.end;
  if (options.tz) query.tz = options.tz;
  if (options.groupBy) {
    if (!["hour", "day", "week", "month"].includes(options.groupBy)) {
      throw new CliError("--group-by must be hour, day, week or month");
    }
    query.group_by = options.groupBy as AnalyticsQuery["group_by"];
  }
  if (options.limit !== undefined) {
    if (!/^\d+$/.test(options.limit)) throw new CliError("--limit must be a non-negative integer");
    query.limit = Number(options.limit);
  }
  return query;
}

function withRange(command: Command): Command {
  return command
    .option("--start <date>", "start of the range: RFC 3339 or YYYY-MM-DD (default: 30 days before the end)")
    .option("--end <date>", "end of the range, inclusive (default: now)")
    .option("--tz <zone>", "IANA time zone of the days (default: UTC)")
    .option("--json", "print JSON");
}

export function registerAnalyticsCommands(program: Command): void {
  const analytics = program
    .command("analytics")
    .description("click analytics (through the API: jmp login, or JMP_URL and JMP_TOKEN)");

  withRange(analytics.command("trends").description("clicks over time, for all links"))
    .option("--group-by <unit>", "hour, day, week or month", "day")
    .action(async (options: RangeOptions) => {
      const trend = await requireClient().analytics.trends(queryOf(options));
      if (options.json) return writeOutput(json(trend), undefined);
      const total = trend.values.reduce((sum, v) => sum + v, 0);
      const rows = trend.labels.map((label, i) => [label, String(trend.values[i])]);
      writeOutput(
        `${sparkline(trend.values)}  ${total} clicks\n${printTable([["PERIOD", "CLICKS"], ...rows])}`,
        undefined,
      );
    });

  withRange(analytics.command("top").description("the most clicked links"))
    .option("--limit <n>", "how many (at most 100)", "10")
    .action(async (options: RangeOptions) => {
      const top = await requireClient().analytics.top(queryOf(options));
      if (options.json) return writeOutput(json(top), undefined);
      writeOutput(printTable([["CODE", "CLICKS"], ...top.map((t) => [t.code, String(t.clicks)])]), undefined);
    });

  withRange(
    analytics.command("link <code>").description("one link: total clicks and its daily trend"),
  ).action(async (code: string, options: RangeOptions) => {
    const data = await requireClient().analytics.link(code, queryOf(options));
    if (options.json) return writeOutput(json(data), undefined);
    const first = data.trend.labels[0] ?? "";
    const last = data.trend.labels.at(-1) ?? "";
    writeOutput(
      `${data.code}: ${data.total_clicks} clicks from ${first} to ${last}\n${sparkline(data.trend.values)}\n`,
      undefined,
    );
  });
}
