/**
 * `DELETE /links/{code}/analytics`: erases a link's analytics (Shlink's "delete visits"; a right-to-erasure
 * request): its detailed events and its own hourly and daily counts. The all-links counts and breakdowns keep
 * those clicks, as they name no link. Audited like every write.
 */
import type { AuditContext, AuditLog } from "../audit/log.js";
import type { AnalyticsStore } from "../store/analytics-store.js";
import type { ClickEventsStore } from "../store/click-events-store.js";

export class AnalyticsErasure {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly events: ClickEventsStore,
    private readonly audit: AuditLog,
  ) {}

  async eraseLink(
    code: string,
    by: AuditContext,
  ): Promise<{ code: string; deleted_rows: number; deleted_events: number }> {
    return this.store.transaction(async (trx) => {
      const deleted = await this.store.eraseLink(trx, code);
      const events = await this.events.eraseLink(trx, code);
      await this.audit.recordIn(
        trx,
        {
          action: "analytics.erase",
          objectType: "link",
          objectId: code,
          before: { stats_rows: deleted, events },
        },
        by,
      );
      return { code, deleted_rows: deleted, deleted_events: events };
    });
  }
}
