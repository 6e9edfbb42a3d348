/**
 * A recorded click as the outside sees it — the click listing (`GET /analytics/clicks`) and the stream messages
 * (`JMP_ANALYTICS_STREAM`): the stored columns, the time as RFC 3339, the bot flag as a boolean.
 */
import type { EventRow } from "../store/click-events-store.js";

export interface EventRecord {
  code: string;
  clicked_at: string;
  referrer: string | null;
  source: string;
  browser: string | null;
  os: string | null;
  device: string;
  is_bot: boolean;
  country: string | null;
  city: string | null;
  ip: string | null;
  /** The day's visitor hash (analytics.unique_visitors), else null. */
  visitor: string | null;
}

export function eventRecord(event: EventRow): EventRecord {
  return {
    code: event.code,
    clicked_at: new Date(event.clicked_at).toISOString(),
    referrer: event.referrer,
    source: event.source,
    browser: event.browser,
    os: event.os,
    device: event.device,
    is_bot: event.is_bot === 1,
    country: event.country,
    city: event.city,
    ip: event.ip,
    visitor: event.visitor,
  };
}
