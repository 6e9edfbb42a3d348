// The load generator: wrk with one Lua script per workload, and jmp's own metrics read between runs.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { call, cleanups } from "./processes.mjs";

/**
 * Connections of the PUT-only workload: an automation client, not a crowd. At 64 the PUTs queue behind one
 * another for the database's write lock and the figure is the queue, not the cost of a write.
 */
export const PUT_CONNECTIONS = 4;

/**
 * Writes the workloads' scripts for `links` codes (c0 … cN-1) and returns `wrk(base, workload, seconds)`, which
 * runs one and answers its figures.
 */
export function prepareWrk({ links: N, token: TOKEN, connections, threads = 1 }) {
  /**
   * Each wrk thread seeds its own generator. Seeded alike (`math.randomseed(os.time())` in the script), both
   * threads sent the same codes in the same order, so every code came twice in quick succession: half the "random"
   * hits were the second request of a pair, cached by the first (55 % cache hits at 1 000 000 links instead of 10 %).
   */
  const SEED_PER_THREAD = `setup = function(thread) thread:set("id", __ID__) __ID__ = __ID__ + 1 end
  init = function() math.randomseed(os.time() * 1000 + id * 7919) end`.replace(/__ID__/g, "_G.next_id");
  const LUA = {
    // One request per code, each thread walking its own half: the warm-up.
    walk: `local counter, step = 0, 1
  setup = function(thread) thread:set("id", __ID__) __ID__ = __ID__ + 1 end
  init = function() counter = id * math.floor(${N} / 2) end
  request = function() counter = (counter + 1) % ${N} return wrk.format("GET", "/c" .. counter) end`.replace(
      /__ID__/g,
      "_G.next_id",
    ),
    hits: `${SEED_PER_THREAD}
  request = function() return wrk.format("GET", "/c" .. math.random(0, ${N - 1})) end`,
    // Hits skewed as real traffic is: code rank k is drawn with probability ∝ 1/k (Zipf, s = 1), by a binary
    // search of the cumulative weights; ranks are spread over the codes (k·7919 mod N) so the popular ones are
    // not neighbours in the database.
    zipf: `${SEED_PER_THREAD}
  local cdf, total = {}, 0
  for k = 1, ${N} do total = total + 1 / k cdf[k] = total end
  request = function()
    local r, lo, hi = math.random() * total, 1, ${N}
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < r then lo = mid + 1 else hi = mid end
    end
    return wrk.format("GET", "/c" .. ((lo - 1) * 7919) % ${N})
  end`,
    // Hits as browsers send them (for detailed analytics): a few real User-Agents, a Referer, some utm_source.
    visits: `${SEED_PER_THREAD}
  local agents = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  }
  request = function()
    local i = math.random(0, ${N - 1})
    local headers = { ["User-Agent"] = agents[math.random(1, #agents)], ["Referer"] = "https://news.example/item/" .. (i % 97) }
    if i % 5 == 0 then return wrk.format("GET", "/c" .. i .. "?utm_source=newsletter", headers) end
    return wrk.format("GET", "/c" .. i, headers)
  end`,
    misses: `${SEED_PER_THREAD}
  request = function() return wrk.format("GET", "/m" .. math.random(0, 2000000000)) end`,
    mixed: `${SEED_PER_THREAD}
  local headers = { ["Authorization"] = "Bearer ${TOKEN}", ["Content-Type"] = "application/json" }
  request = function()
    local i = math.random(0, ${N - 1})
    if math.random(1, 100) == 1 then
      return wrk.format("PUT", "/admin/v1/links/c" .. i, headers, '{"target":"https://example.com/w/' .. i .. '"}')
    end
    return wrk.format("GET", "/c" .. i)
  end`,
    // Admin writes alone (run at PUT_CONNECTIONS): what one PUT costs. Each sets a new target, so each is a write.
    puts: `${SEED_PER_THREAD}
  local headers = { ["Authorization"] = "Bearer ${TOKEN}", ["Content-Type"] = "application/json" }
  local n = 0
  request = function()
    n = n + 1
    local i = math.random(0, ${N - 1})
    return wrk.format("PUT", "/admin/v1/links/c" .. i, headers, '{"target":"https://example.com/v/' .. i .. '/' .. n .. '"}')
  end`,
  };
  const DONE = `
  done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"status_4xx_5xx":%d}\\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.timeout, e.status))
  end`;

  const scripts = mkdtempSync(path.join(tmpdir(), "jmp-bench-"));
  cleanups.push(() => rmSync(scripts, { recursive: true, force: true }));
  for (const [name, body] of Object.entries(LUA)) {
    const prelude = "_G.next_id = 0\n";
    writeFileSync(path.join(scripts, `${name}.lua`), prelude + body + DONE);
  }

  return function wrk(base, workload, seconds) {
    const args = [
      `-t${threads}`,
      `-c${workload === "puts" ? PUT_CONNECTIONS : connections}`,
      `-d${seconds}s`,
      "--latency",
      "-s",
      path.join(scripts, `${workload}.lua`),
      base,
    ];
    const run = spawnSync("wrk", args, { encoding: "utf8", timeout: (seconds + 30) * 1000 });
    const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`wrk failed: ${run.stderr || run.stdout}`);
    const r = JSON.parse(line.slice(7));
    return {
      rps: Math.round(r.requests / (r.duration_us / 1e6)),
      p50_ms: r.p50_us / 1000,
      p99_ms: r.p99_us / 1000,
      requests: r.requests,
      errors: r.socket_errors,
    };
  };
}

/**
 * Pause time of the main thread's garbage collections (prom-client's GC metric). Before V8's allocation-site
 * pretenuring was turned off (src/main.ts), some jmp processes ran a whole measurement with GC costing ten times
 * its usual share; this column shows whether a process's GC went bad, whatever the cause.
 */
export const GC_SECONDS = "nodejs_gc_duration_seconds_sum";

/** A sample of jmp's Prometheus metrics (summed over label sets when `labels` is omitted). */
export async function metric(base, name, labels, auth) {
  const r = await call(`${base}/health/metrics`, { headers: auth });
  if (!r.ok) return null;
  const text = await r.text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const series = line.slice(0, line.lastIndexOf(" "));
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (labels && series !== `${name}{${labels}}`) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}
