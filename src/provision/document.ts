/**
 * The apply document (`apiVersion: jmp/v1`): the declared state of links, runtime config and API keys, in YAML
 * or JSON. This module owns its shape: parsing, the structural schema, and the error paths every later check
 * reports in (`links[3].target`). What each item means is checked by the service that owns the object.
 */
import { Ajv, type ErrorObject } from "ajv";
import { type Static, Type } from "typebox";
import { parse as parseYaml } from "yaml";
import { AppError, type FieldError, invalidDocument } from "../errors.js";
import { NullableString, SettingsInputProperties } from "../links/settings-schema.js";
import { MAX_NESTING, yamlTooDeep } from "../nesting.js";

export const API_VERSION = "jmp/v1";

/** Far above any real installation; bounds the work one document can ask for. */
export const MAX_DOCUMENT_LINKS = 200_000;
export const MAX_DOCUMENT_KEYS = 1_000;

export const DocumentLink = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 1024 }),
    target: Type.String({ minLength: 1, maxLength: 65536 }),
    /** RFC 3339 only: a relative expiry ("7d") would move on every apply. */
    expires_at: NullableString(64),
    /** A plain password, an `$argon2id$` hash, or `[REDACTED]` (keep the current password). */
    password: NullableString(1024),
    /** The link's settings; absent means the default (a listed link is the whole link). */
    ...SettingsInputProperties,
  },
  { additionalProperties: false },
);

export const DocumentKey = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    /** The SHA-256 of the token (hex): the document never holds a usable secret. */
    token_sha256: Type.String({ maxLength: 71 }),
    scopes: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 16 }),
    description: NullableString(512),
    expires_at: NullableString(64),
  },
  { additionalProperties: false },
);

export const ApplyDocument = Type.Object(
  {
    apiVersion: Type.String({ maxLength: 32 }),
    kind: Type.Optional(Type.Literal("State")),
    metadata: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 256 })),
          /**
           * API applies: who owns what this document creates (default `apply`); its prune only touches that
           * owner's objects. Ignored for the provisioning file, which is its own owner.
           */
          owner: Type.Optional(Type.String({ maxLength: 24 })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Delete (links) or revoke (keys) the objects of this document's owner that it does not list, in the sections
     * it has (an absent section is never pruned). Objects made outside apply are never pruned.
     */
    prune: Type.Optional(Type.Boolean()),
    /** Provisioning file only: objects it creates accept API edits (the next start puts the file's values back). */
    allow_api_edits: Type.Optional(Type.Boolean()),
    links: Type.Optional(Type.Array(DocumentLink, { maxItems: MAX_DOCUMENT_LINKS })),
    config: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 128 }),
        Type.Union([Type.String({ maxLength: 65536 }), Type.Number(), Type.Boolean()]),
      ),
    ),
    keys: Type.Optional(Type.Array(DocumentKey, { maxItems: MAX_DOCUMENT_KEYS })),
  },
  { additionalProperties: false },
);

export type ApplyDocument = Static<typeof ApplyDocument>;
export type DocumentLink = Static<typeof DocumentLink>;
export type DocumentKey = Static<typeof DocumentKey>;

const validate = new Ajv({ allErrors: true, strict: false }).compile<ApplyDocument>(ApplyDocument);

/** `/links/3/target` → `links[3].target`: how every apply error names the item it is about. */
export function fieldPath(pointer: string): string {
  return pointer
    .split("/")
    .filter(Boolean)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join("");
}

export function documentErrors(fields: FieldError[]): AppError {
  const shown = fields.slice(0, 1000);
  const first = shown[0];
  return invalidDocument(
    first
      ? `Invalid apply document: ${first.field}: ${first.message}${fields.length > 1 ? ` (and ${fields.length - 1} more)` : ""}`
      : "Invalid apply document",
    shown,
  );
}

function ajvField(e: ErrorObject): FieldError {
  const extra = e.params.additionalProperty ?? e.params.missingProperty;
  const pointer = typeof extra === "string" ? `${e.instancePath}/${extra}` : e.instancePath;
  return { field: fieldPath(pointer) || "document", message: e.message ?? "is invalid" };
}

/** Checks the shape of an already-parsed document. @throws AppError 400 with one field error per problem. */
export function checkDocument(value: unknown): ApplyDocument {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw documentErrors([{ field: "document", message: "must be an object" }]);
  }
  const version = (value as { apiVersion?: unknown }).apiVersion;
  if (version !== API_VERSION) {
    throw documentErrors([
      { field: "apiVersion", message: `must be '${API_VERSION}' (got ${JSON.stringify(version ?? null)})` },
    ]);
  }
  if (!validate(value)) {
    // Ajv reports every branch of a union; one line per path is what a person needs.
    const seen = new Set<string>();
    const fields = (validate.errors ?? [])
      .map(ajvField)
      .filter((f) => !seen.has(f.field) && seen.add(f.field));
    throw documentErrors(fields);
  }
  const fields = [...duplicates(value.links ?? [], "links", (l) => l.code, "code")];
  fields.push(...duplicates(value.keys ?? [], "keys", (k) => k.name, "name"));
  if (fields.length > 0) throw documentErrors(fields);
  return value;
}

function* duplicates<T>(items: readonly T[], section: string, id: (item: T) => string, what: string) {
  const first = new Map<string, number>();
  for (const [i, item] of items.entries()) {
    const key = id(item);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, i);
    else
      yield {
        field: `${section}[${i}].${what}`,
        message: `duplicate ${what} '${key}' (also ${section}[${earlier}])`,
      };
  }
}

/** Parses YAML or JSON text (JSON is YAML) into a checked document. */
export function parseDocument(text: string): ApplyDocument {
  if (yamlTooDeep(text)) {
    throw documentErrors([{ field: "document", message: `nested deeper than ${MAX_NESTING} levels` }]);
  }
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    throw documentErrors([
      { field: "document", message: `not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}` },
    ]);
  }
  return checkDocument(value);
}
