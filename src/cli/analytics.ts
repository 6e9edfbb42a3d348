/**
 * `jmp analytics trends|top|tags|referrers|geo|devices|clicks|link`: the analytics API from a terminal (through the API: `jmp login`, or JMP_URL
 * and JMP_TOKEN). Tables by default, with a sparkline for series; `--json` prints the API's data as is.
 */
import type { Command } from "commander";
import { ANALYTICS_FILTERS, type AnalyticsFilter, type AnalyticsQuery } from "../client/analytics.js";
import { requireClient } from "./api.js";
import { CliError } from "./errors.js";
import { json, printTable, writeOutput } from "./output.js";

const BARS = "▁▂▃▄▅▆▇█";

/** One character per value, scaled to the largest (all zero: the lowest bar). */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => BARS[max === 0 ? 0 : Math.round((v / max) * (BARS.length - 1))]).join("");
}

interface RangeOptions extends Partial<Record<AnalyticsFilter, string>> {
  start?: string;
  end?: string;
  groupBy?: string;
  limit?: string;
  tz?: string;
  json?: boolean;
  excludeBots?: boolean;
}

/** What each filter option selects (the names are the API's: ANALYTICS_FILTERS). */
const FILTER_HELP: Record<AnalyticsFilter, [argument: string, selects: string]> = {
  code: ["<code>", "of this link"],
  tag: ["<tag>", "of links with this tag"],
  source: ["<source>", "from this source (utm_source, ref:<host>, direct)"],
  country: ["<cc>", "from this country (ISO code)"],
  browser: ["<name>", "of this browser"],
  os: ["<name>", "of this operating system"],
  device: ["<class>", "of this device class (desktop, mobile, …)"],
};

function queryOf(options: RangeOptions): AnalyticsQuery {
  const query: AnalyticsQuery = {};
  if (options.start) query.start_date = options.start;
  if (options.end) query.end_date = options.end;
  if (options.tz) query.tz = options.tz;
  if (options.excludeBots) query.exclude_bots = true;
  for (const name of ANALYTICS_FILTERS) if (options[name] !== undefined) query[name] = options[name];
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
  command
    .option("--start <date>", "start of the range: RFC 3339 or YYYY-MM-DD (default: 30 days before the end)")
    .option("--end <date>", "end of the range, inclusive (default: now)")
    .option("--tz <zone>", "IANA time zone of the days (default: UTC)")
    .option("--exclude-bots", "leave out clicks flagged as bots");
  for (const name of ANALYTICS_FILTERS) {
    const [argument, selects] = FILTER_HELP[name];
    command.option(`--${name} ${argument}`, `only recorded clicks ${selects}`);
  }
  return command.option("--json", "print JSON");
}

/** `jmp analytics NAME`: a ranked list, as a table (or `--json`), `--limit` defaulting to the API's default. */
function listCommand<T>(
  parent: Command,
  name: string,
  description: string,
  defaultLimit: number,
  fetch: (query: AnalyticsQuery) => Promise<T[]>,
  table: { header: string[]; row: (item: T) => string[] },
): void {
  withRange(parent.command(name).description(description))
    .option("--limit <n>", "how many (at most 100)", String(defaultLimit))
    .action(async (options: RangeOptions) => {
      const rows = await fetch(queryOf(options));
      if (options.json) return writeOutput(json(rows), undefined);
      writeOutput(printTable([table.header, ...rows.map(table.row)]), undefined);
    });
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

  const percent = (value: number) => `${value.toFixed(1)} %`;
  const api = () => requireClient().analytics;
  listCommand(
    analytics,
    "tags",
    "clicks by tag (each link under every tag it has)",
    10,
    (q) => api().tags(q),
    {
      header: ["TAG", "CLICKS", "LINKS"],
      row: (r) => [r.tag, String(r.clicks), String(r.links)],
    },
  );
  listCommand(
    analytics,
    "referrers",
    "where clicks came from (detailed analytics)",
    10,
    (q) => api().referrers(q),
    {
      header: ["SOURCE", "CLICKS", "SHARE"],
      row: (r) => [r.referrer, String(r.count), percent(r.percentage)],
    },
  );
  listCommand(analytics, "geo", "countries and cities (detailed analytics)", 20, (q) => api().geo(q), {
    header: ["COUNTRY", "CITY", "CLICKS"],
    row: (r) => [r.country, r.city ?? "", String(r.count)],
  });

  withRange(analytics.command("devices").description("browsers, systems, device classes, bots"))
    .option("--limit <n>", "how many per list (at most 20)", "10")
    .action(async (options: RangeOptions) => {
      const data = await requireClient().analytics.devices(queryOf(options));
      if (options.json) return writeOutput(json(data), undefined);
      const section = (title: string, list: { name: string; count: number; percentage: number }[]) =>
        printTable([
          [title, "CLICKS", "SHARE"],
          ...list.map((r) => [r.name, String(r.count), percent(r.percentage)]),
        ]);
      writeOutput(
        `${data.total_with_ua} recorded clicks, ${percent(data.bot_percentage)} bots\n` +
          `${section("BROWSER", data.browsers)}\n${section("OS", data.operating_systems)}\n` +
          section("DEVICE", data.devices),
        undefined,
      );
    });

  withRange(analytics.command("clicks").description("recorded clicks, newest first (detailed analytics)"))
    .option("--page-size <n>", "how many (at most 1000)", "50")
    .option("--cursor <cursor>", "the next page: the cursor printed after the previous one")
    .action(async (options: RangeOptions & { pageSize: string; cursor?: string }) => {
      if (!/^\d+$/.test(options.pageSize)) throw new CliError("--page-size must be a non-negative integer");
      const page = await requireClient().analytics.clicks({
        ...queryOf(options),
        page_size: Number(options.pageSize),
        ...(options.cursor !== undefined && { cursor: options.cursor }),
      });
      if (options.json) return writeOutput(json(page), undefined);
      const rows = page.clicks.map((c) => [
        c.clicked_at,
        c.code,
        c.source,
        [c.country, c.city].filter(Boolean).join("/"),
        [c.browser, c.os, c.device].filter(Boolean).join(" · "),
        c.is_bot ? "bot" : "",
      ]);
      const next = page.next_cursor === null ? "" : `next page: --cursor ${page.next_cursor}\n`;
      writeOutput(
        `${printTable([["TIME", "CODE", "SOURCE", "PLACE", "AGENT", ""], ...rows])}${next}`,
        undefined,
      );
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
