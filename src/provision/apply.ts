/**
 * Declarative apply: a document (see document.ts) → a plan (create / update / delete / unchanged, with field
 * diffs) → written in one transaction under a database-wide lock. The same engine serves `POST /admin/v1/apply`,
 * `jmp apply` (through the API) and the provisioning file at start. An invalid item rejects the whole document
 * with every item's error; nothing is half-applied. An unchanged document writes nothing.
 */
import type { Logger } from "pino";
import { actorOf, type Principal } from "../auth/credentials.js";
import type { AuditContext, AuditLog } from "../audit/log.js";
import type { ConfigService } from "../config/service.js";
import { planConfig } from "./sections/config.js";
import { exportKeys, type KeySectionContext, planKeys } from "./sections/keys.js";
import { type LinkSectionContext, planLinks } from "./sections/links.js";
import { retryingConflicts, type Store } from "../store/db.js";
import { exclusively } from "../store/lock.js";
import { REDACTED } from "../text.js";
import { DEFAULT_SETTINGS, pickSettings, settingsDiff } from "../links/settings.js";
import { API_VERSION, type ApplyDocument, type DocumentLink, documentErrors } from "./document.js";
import type { Change, Owner, SectionOptions, SectionPlan } from "./plan.js";
import { APPLY_OWNER, DEFAULT_APPLY_OWNER, Managed } from "../util/ownership.js";

export interface ApplyRequest {
  owner: Owner;
  /**
   * API applies: the owner name (`?owner=` or the document's `metadata.owner`, default `apply`). What the apply
   * creates or adopts is tagged `apply:<name>`, and its prune only touches objects with that tag.
   */
  applyOwner?: string | undefined;
  /** Plan only. */
  dryRun: boolean;
  /** Overrides the document's `prune`. */
  prune?: boolean | undefined;
  principal: Principal;
  /** Who is applying, and from where (the audit log). */
  by: AuditContext;
}

export interface ApplySummary {
  create: number;
  update: number;
  delete: number;
  unchanged: number;
}

export interface ApplyResult {
  dry_run: boolean;
  /** True when changes were written (false for a dry run and for a document that changes nothing). */
  applied: boolean;
  summary: ApplySummary;
  /** Every create, update and delete (unchanged objects are only counted). */
  changes: Change[];
}

const LOCK_NAME = "jmp:apply";

export class Provisioner {
  constructor(
    private readonly store: Store,
    /** What the links section reads and writes through. */
    private readonly links: Omit<LinkSectionContext, "db" | "now">,
    /** What the keys section reads and writes through. */
    private readonly keys: Omit<KeySectionContext, "caller" | "db" | "now">,
    private readonly config: ConfigService,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  async apply(doc: ApplyDocument, request: ApplyRequest): Promise<ApplyResult> {
    if (request.owner === "api" && doc.allow_api_edits !== undefined) {
      throw documentErrors([
        { field: "allow_api_edits", message: "only applies to the provisioning file (JMP_PROVISION_FILE)" },
      ]);
    }
    const options = sectionOptions(doc, request);
    // A section the document does not have is not planned at all: nothing in it is written or pruned.
    const plan = async (db: LinkSectionContext["db"], trx?: Parameters<SectionPlan["write"]>[0]) => {
      const sections: SectionPlan[] = [];
      if (doc.links)
        sections.push(await planLinks(doc.links, options, { ...this.links, db, now: this.clock() }));
      if (doc.config)
        sections.push(
          await planConfig(doc.config, options, { config: this.config, actor: actorOf(request.principal) }),
        );
      if (doc.keys) {
        const context = { ...this.keys, caller: request.principal, db: trx, now: this.clock() };
        sections.push(await planKeys(doc.keys, options, context));
      }
      const errors = sections.flatMap((s) => s.errors);
      if (errors.length > 0) throw documentErrors(errors);
      return sections;
    };

    if (request.dryRun) return result(await plan(this.store.db), true, false);

    // Planned inside the transaction, so a retry plans again: a batch or import elsewhere may have created a
    // code this plan found free (unique violation), or won a deadlock against it.
    const sections = await retryingConflicts(
      () =>
        exclusively(this.store, LOCK_NAME, async (trx) => {
          // What an instance that held the lock before us committed (several instances provisioning at start).
          await this.config.reload(trx);
          const planned = await plan(trx, trx);
          const now = this.clock();
          for (const section of planned) if (section.changes.length > 0) await section.write(trx, now);
          const written = result(
            planned,
            false,
            planned.some((s) => s.changes.length > 0),
          );
          // The audit entry commits with the apply, or the apply does not happen.
          if (written.applied) {
            await this.audit.recordIn(
              trx,
              { action: "apply", objectType: "state", objectId: options.tag, after: written.summary },
              request.by,
            );
          }
          return planned;
        }),
      { uniqueViolations: true },
    );
    for (const section of sections) await section.committed();
    const done = result(
      sections,
      false,
      sections.some((s) => s.changes.length > 0),
    );
    if (done.applied) this.log.info({ owner: options.tag, ...done.summary }, "apply document written");
    return done;
  }

  /**
   * The current state as an apply document (links in code order); applying it back changes nothing. Link
   * passwords are `[REDACTED]` (keep) unless `includeSecrets`, which exports their Argon2id hashes.
   */
  async export(sections: ExportSections): Promise<ApplyDocument> {
    const doc: ApplyDocument = { apiVersion: API_VERSION, kind: "State" };
    if (sections.links) {
      const links: DocumentLink[] = [];
      for await (const batch of this.links.store.scan({}, this.clock())) {
        for (const link of batch) {
          const item: DocumentLink = { code: link.code, target: link.target };
          if (link.expiresAt !== null) item.expires_at = new Date(link.expiresAt).toISOString();
          if (link.passwordHash !== null) {
            item.password = sections.includeSecrets ? link.passwordHash : REDACTED;
          }
          // Only settings that differ from the defaults: a document lists what is special about a link.
          for (const [field, { to }] of Object.entries(settingsDiff(DEFAULT_SETTINGS, pickSettings(link)))) {
            (item as Record<string, unknown>)[field] = to;
          }
          links.push(item);
        }
      }
      doc.links = links;
    }
    if (sections.config) doc.config = this.config.exportable(sections.includeSecrets);
    if (sections.keys) doc.keys = await exportKeys(this.keys.store);
    return doc;
  }
}

/** Who the apply writes for, and so which objects its prune may touch (see `Managed`). */
function sectionOptions(doc: ApplyDocument, request: ApplyRequest): SectionOptions {
  const prune = request.prune ?? doc.prune ?? false;
  if (request.owner === "file") {
    const editable = doc.allow_api_edits === true;
    return {
      owner: "file",
      tag: editable ? Managed.FileEditable : Managed.File,
      prunable: [Managed.File, Managed.FileEditable],
      prune,
      editable,
    };
  }
  const named = doc.metadata?.owner;
  if (request.applyOwner !== undefined && named !== undefined && named !== request.applyOwner) {
    throw documentErrors([
      {
        field: "metadata.owner",
        message: `is '${named}' but the request says owner '${request.applyOwner}'; give one or make them agree`,
      },
    ]);
  }
  const name = request.applyOwner ?? named ?? DEFAULT_APPLY_OWNER;
  if (!APPLY_OWNER.test(name)) {
    throw documentErrors([
      {
        field: "metadata.owner",
        message:
          "must be 1-24 characters: lowercase letters, digits, '_', '.', '-' (starting with a letter or digit)",
      },
    ]);
  }
  if (name === "api" || name === "file") {
    throw documentErrors([
      {
        field: "metadata.owner",
        message: `'${name}' is reserved (objects made outside apply are the API's; 'file' is the provisioning file)`,
      },
    ]);
  }
  const tag = Managed.apply(name);
  return { owner: "api", tag, prunable: [tag], prune, editable: false };
}

export interface ExportSections {
  links: boolean;
  config: boolean;
  keys: boolean;
  includeSecrets: boolean;
}

function result(sections: readonly SectionPlan[], dryRun: boolean, applied: boolean): ApplyResult {
  const changes = sections.flatMap((s) => s.changes);
  const count = (action: Change["action"]) => changes.filter((c) => c.action === action).length;
  return {
    dry_run: dryRun,
    applied,
    summary: {
      create: count("create"),
      update: count("update"),
      delete: count("delete"),
      unchanged: sections.reduce((n, s) => n + s.unchanged, 0),
    },
    changes,
  };
}
