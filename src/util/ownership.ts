/**
 * Who owns an object (links and API keys): null/`api` = the Admin API (`POST /links`, import, the CLI, the
 * panel); `apply:<name>` = created by a document applied through the API under that owner name (default
 * `apply`), whose prune touches only its own objects; an API apply that updates an object never changes its
 * owner; `file` = the provisioning file (`JMP_PROVISION_FILE`), which refuses API edits
 * (409) so the file stays the source of truth; `file:editable` = the file, which allowed API edits
 * (`allow_api_edits: true`; the next start puts the file's values back).
 */
export const Managed = {
  File: "file",
  FileEditable: "file:editable",
  apply: (owner: string) => `apply:${owner}`,
} as const;

/** An apply owner's name: short (it is stored in every object it owns), lowercase, no spaces. */
export const APPLY_OWNER = /^[a-z0-9][a-z0-9_.-]{0,23}$/;
export const DEFAULT_APPLY_OWNER = "apply";
