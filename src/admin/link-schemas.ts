/** Request schemas of the links routes (links-routes.ts, link-batch-routes.ts, link-files-routes.ts). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { QR_LIMITS } from "../links/qr.js";
import { NullableString, SettingsInputProperties } from "../links/settings-schema.js";
import { LINK_SORTS } from "../store/link-filter.js";

/** The Fastify instance a links plugin adds its routes to (typed by the TypeBox provider). */
export type LinksApp = Parameters<FastifyPluginAsyncTypebox>[0];

export const CreateBody = Type.Object(
  {
    code: NullableString(1024),
    target: Type.String({ maxLength: 65536 }),
    expires_at: NullableString(256),
    password: NullableString(1024),
    force: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    ...SettingsInputProperties,
  },
  { additionalProperties: false },
);

/** `code` and `force` are accepted (Shortlinker clients send the create shape) and ignored. */
export const UpdateBody = Type.Object(
  {
    target: Type.String({ maxLength: 65536 }),
    expires_at: NullableString(256),
    password: NullableString(1024),
    code: NullableString(1024),
    force: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    ...SettingsInputProperties,
  },
  { additionalProperties: false },
);

export const FilterQuery = {
  search: Type.Optional(Type.String({ maxLength: 512 })),
  created_after: Type.Optional(Type.String({ maxLength: 64 })),
  created_before: Type.Optional(Type.String({ maxLength: 64 })),
  only_expired: Type.Optional(Type.Boolean()),
  only_active: Type.Optional(Type.Boolean()),
  status: Type.Optional(
    Type.Union([Type.Literal("active"), Type.Literal("expired"), Type.Literal("disabled")], {
      description:
        "active: enabled and not expired; expired: past its expiry; disabled: switched off (jmp; not with only_*)",
    }),
  ),
  tags: Type.Optional(Type.String({ maxLength: 4096, description: "comma-separated tags" })),
  tags_mode: Type.Optional(
    Type.Union([Type.Literal("any"), Type.Literal("all")], {
      description: "any (default) or all of the tags",
    }),
  ),
};

export const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer()),
  page_size: Type.Optional(Type.Integer()),
  sort: Type.Optional(
    Type.Union(
      LINK_SORTS.flatMap((column) => [Type.Literal(column), Type.Literal(`-${column}`)]),
      { description: "a column, descending with a leading '-' (jmp); default -created_at, ties by code" },
    ),
  ),
  ...FilterQuery,
});

export const CodeParams = Type.Object({ "*": Type.String() });

export const QrQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal("svg"), Type.Literal("png")])),
  size: Type.Optional(Type.Integer({ minimum: QR_LIMITS.minSize, maximum: QR_LIMITS.maxSize })),
  margin: Type.Optional(Type.Integer({ minimum: 0, maximum: QR_LIMITS.maxMargin })),
  ecc: Type.Optional(Type.Union(["L", "M", "Q", "H"].map((l) => Type.Literal(l)))),
});

export const PutQuery = Type.Object({ upsert: Type.Optional(Type.Boolean()) });

export const PreconditionHeaders = Type.Object({
  "if-match": Type.Optional(Type.String({ maxLength: 1024 })),
  "if-none-match": Type.Optional(Type.String({ maxLength: 1024 })),
});
