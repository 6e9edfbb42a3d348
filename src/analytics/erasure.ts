/**
 * `DELETE /links/{code}/analytics`: erases a link's analytics (Shlink's "delete visits"; a right-to-erasure
 * request). Today that is the link's own hourly and daily counts; the all-links counts keep those clicks, as they
 * name no link. Audited like every write.
 */
import type { AuditContext, AuditLog } from "../audit/log.js";
import type { AnalyticsStore } from "../store/analytics-store.js";

export class AnalyticsErasure {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly audit: AuditLog,
  ) {}

  async eraseLink(code: string, by: AuditContext): Promise<{ code: string; deleted_rows: number }> {
    return this.store.transaction(async (trx) => {
      const deleted = await this.store.eraseLink(trx, code);
      await this.audit.recordIn(
        trx,
        { action: "analytics.erase", objectType: "link", objectId: code, before: { stats_rows: deleted } },
        by,
      );
      return { code, deleted_rows: deleted };
    });
  }
}
