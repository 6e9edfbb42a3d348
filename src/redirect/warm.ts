/**
 * Fills the link cache after start, in pages read in code order, until it is full or every link is in: a
 * restarted instance serves from memory at once instead of sending its first visits, one query each, to the
 * database (single-row reads are what a cold instance was slowest at, most of all over a network). With more
 * links than the cache holds, the rest are read on first use as before.
 */
import { setImmediate as yieldToRequests } from "node:timers/promises";
import type { Logger } from "pino";
import type { RedirectFields } from "../links/model.js";
import type { LinkCache } from "./cache.js";
import { toCached } from "./handler.js";

export interface WarmSource {
  /** What redirects need of the links whose code is greater than `after`, in code order, at most `limit`. */
  linksAfter(after: string, limit: number): Promise<(RedirectFields & { code: string })[]>;
}

const PAGE = 2000;
const MAX_RETRIES = 5;

export async function warmCache(
  cache: LinkCache,
  source: WarmSource,
  log: Logger,
  stopped: () => boolean,
): Promise<number> {
  const started = Date.now();
  let loaded = 0;
  let after = "";
  let retries = 0;
  while (cache.room > 0 && !stopped()) {
    const version = cache.version;
    const limit = Math.min(PAGE, cache.room);
    const links = await source.linksAfter(after, limit);
    // A write landed while the page was read: its link would be cached as it was before. Read the page again
    // (a few times; under a storm of writes the rest is read on first use).
    if (cache.version !== version) {
      if (++retries <= MAX_RETRIES) continue;
      break;
    }
    retries = 0;
    for (const link of links) cache.set(link.code, toCached(link.code, link));
    loaded += links.length;
    if (links.length < limit) break;
    after = links[links.length - 1]!.code;
    await yieldToRequests();
  }
  log.debug({ links: loaded, ms: Date.now() - started }, "link cache warmed");
  return loaded;
}
