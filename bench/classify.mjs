// The analytics worker's classification throughput (issue 20: ≥ 50 000 events/s, so one worker keeps up with a
// saturated redirect process): raw clicks as the redirect path hands them over — 500 distinct User-Agents (a
// realistic spread: the worker's LRU parses each once), distinct addresses, referrers, some utm_source — through
// EventAggregator (bowser, isbot, sources, anonymisation, hourly breakdowns). No GeoIP file and no database write.
import { EventAggregator } from "../dist/src/analytics/events.js";

const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1__.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17___ like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel __) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:1__.0) Gecko/20100101 Firefox/1__.0",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) __",
];

function batch(size, offset) {
  const now = Date.now();
  const raw = { codes: [], urls: [], referrers: [], agents: [], ips: [], times: new Float64Array(size) };
  for (let i = 0; i < size; i++) {
    const n = offset + i;
    raw.codes.push(`c${n % 100_000}`);
    raw.urls.push(n % 5 === 0 ? `/c${n % 100_000}?utm_source=newsletter` : `/c${n % 100_000}`);
    raw.referrers.push(n % 3 === 0 ? undefined : `https://news.example/item/${n % 97}`);
    raw.agents.push(AGENTS[n % AGENTS.length].replaceAll("__", String(n % 100).padStart(2, "0")));
    raw.ips.push(`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
    raw.times[i] = now + i;
  }
  return raw;
}

export async function classifyThroughput(events = 300_000) {
  const aggregator = new EventAggregator(null);
  const batches = [];
  for (let offset = 0; offset < events; offset += 2000) batches.push(batch(2000, offset));
  aggregator.add(batch(2000, 0)); // warm the JIT
  aggregator.take();
  const started = process.hrtime.bigint();
  for (const raw of batches) {
    aggregator.add(raw);
    if (aggregator.size >= 50_000) aggregator.take(); // the worker writes every second
  }
  aggregator.take();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(events / seconds);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`${await classifyThroughput()} events/s`);
}
