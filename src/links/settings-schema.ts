/**
 * The wire shape of a link's settings (see settings.ts), once, for every place that accepts or returns them:
 * the Admin API's link bodies and responses, and apply documents. Shapes only; meaning is checked by
 * `resolveSettings`, which reports every problem by field.
 */
import { Type } from "typebox";
import { MAX_CONDITIONS, MAX_RULES } from "./rules.js";
import { MAX_NOTES_LENGTH, MAX_TAG_LENGTH, MAX_TAGS, MAX_TITLE_LENGTH } from "./settings.js";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

/** An optional string that may also be null (Shortlinker clients send null for "not set"). */
export const NullableString = (maxLength: number) =>
  Type.Optional(Type.Union([Type.String({ maxLength }), Type.Null()]));

export const ConditionSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal("device"),
      value: Type.Union([
        Type.Literal("ios"),
        Type.Literal("android"),
        Type.Literal("mobile"),
        Type.Literal("desktop"),
      ]),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal("language"), value: Type.String({ maxLength: 64 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal("country"), value: Type.String({ maxLength: 8 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal("query"),
      name: Type.String({ maxLength: 128 }),
      value: Type.Optional(Type.String({ maxLength: 1024 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Union([Type.Literal("before"), Type.Literal("after")]),
      value: Type.String({ maxLength: 64 }),
    },
    { additionalProperties: false },
  ),
]);

export const RuleSchema = Type.Object(
  {
    conditions: Type.Array(ConditionSchema, { maxItems: MAX_CONDITIONS }),
    target: Type.String({ maxLength: 65536 }),
  },
  { additionalProperties: false },
);

/** Input: every field optional; `null` resets it (on an update) or means the default. */
export const SettingsInputProperties = {
  redirect_status: Type.Optional(Nullable(Type.Integer())),
  enabled: Type.Optional(Nullable(Type.Boolean())),
  max_clicks: Type.Optional(Nullable(Type.Integer())),
  valid_from: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  fallback_url: Type.Optional(Nullable(Type.String({ maxLength: 65536 }))),
  title: Type.Optional(Nullable(Type.String({ maxLength: MAX_TITLE_LENGTH * 4 }))),
  notes: Type.Optional(Nullable(Type.String({ maxLength: MAX_NOTES_LENGTH * 4 }))),
  tags: Type.Optional(
    Nullable(Type.Array(Type.String({ maxLength: MAX_TAG_LENGTH * 4 }), { maxItems: MAX_TAGS * 20 })),
  ),
  forward_query: Type.Optional(Nullable(Type.Boolean())),
  crawlable: Type.Optional(Nullable(Type.Boolean())),
  rules: Type.Optional(Nullable(Type.Array(RuleSchema, { maxItems: MAX_RULES * 5 }))),
};

/** Output: every field present. */
export const SettingsOutputProperties = {
  redirect_status: Nullable(
    Type.Union([Type.Literal(301), Type.Literal(302), Type.Literal(307), Type.Literal(308)]),
  ),
  enabled: Type.Boolean(),
  max_clicks: Nullable(Type.Integer()),
  valid_from: Nullable(Type.String({ format: "date-time" })),
  fallback_url: Nullable(Type.String()),
  title: Nullable(Type.String()),
  notes: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  forward_query: Type.Boolean(),
  crawlable: Type.Boolean(),
  rules: Type.Array(RuleSchema),
};
