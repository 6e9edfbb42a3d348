/**
 * The shape of a plan: what applying a document would change, section by section (links, config, keys). Each
 * section is planned in provision/sections/ with the same rules as the Admin API, and knows how to write itself
 * inside the apply transaction and what to announce once that transaction has committed.
 */
import type { Transaction } from "kysely";
import { type FieldError } from "../errors.js";
import type { Database } from "../store/schema.js";

export type Action = "create" | "update" | "delete";

/** One field's move, as shown in a plan (secrets as `[REDACTED]`). */
export interface FieldDiff {
  from: unknown;
  to: unknown;
}

export interface Change {
  kind: "link" | "config" | "key";
  /** The link code, the config key, or the API key name. */
  id: string;
  action: Action;
  diff: Record<string, FieldDiff>;
  /** Why, for a delete (prune): which owner's object it is and that the document no longer lists it. */
  reason?: string;
}

/** Who applies: the Admin API (`POST /apply`, `jmp apply`) or the provisioning file at start. */
export type Owner = "api" | "file";

export interface SectionOptions {
  owner: Owner;
  /**
   * The owner tag written on the objects this apply creates or adopts (`links.managed_by`, `api_keys.source`):
   * `apply:<name>` for an API apply, `file` or `file:editable` for the provisioning file. Prune only ever
   * touches objects that carry one of `prunable`.
   */
  tag: string;
  prunable: readonly string[];
  prune: boolean;
  /** File only: the objects it owns accept API edits. */
  editable: boolean;
}

/** Why an object is in the plan as a delete. */
export function pruneReason(tag: string): string {
  return `owned by ${ownerLabel(tag)} and not in the document (prune)`;
}

/** How a stored owner tag reads in a plan: `apply owner 'ci'`, `the provisioning file`, `the API`. */
export function ownerLabel(tag: string | null): string {
  if (tag === null || tag === "api") return "the API";
  if (tag.startsWith("apply:")) return `apply owner '${tag.slice("apply:".length)}'`;
  return "the provisioning file";
}

export interface SectionPlan {
  changes: Change[];
  unchanged: number;
  errors: FieldError[];
  /** Writes the changes; called inside the apply transaction, only when there are no errors. */
  write(trx: Transaction<Database>, now: number): Promise<void>;
  /** After commit: tell every instance, update in-memory state. */
  committed(): Promise<void>;
}
