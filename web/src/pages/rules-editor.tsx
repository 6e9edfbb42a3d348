/**
 * The ordered redirect rules of a link: the first rule whose conditions all match picks its target (docs/api.md,
 * "Link settings"). Each condition is one of the server's types; dates are entered in local time and sent as
 * RFC 3339.
 */
import type { Link } from "../api.js";
import { Field } from "../components.js";
import { fromLocalInput, toLocalInput } from "../format.js";
import { t } from "../i18n/index.js";

export type Rule = Link["rules"][number];
export type Condition = Rule["conditions"][number];
type ConditionType = Condition["type"];

const TYPES: ConditionType[] = ["device", "language", "country", "query", "before", "after"];
const DEVICES = ["ios", "android", "mobile", "desktop"] as const;

function blank(type: ConditionType): Condition {
  switch (type) {
    case "device":
      return { type, value: "mobile" };
    case "query":
      return { type, name: "" };
    case "before":
    case "after":
      return { type, value: new Date().toISOString() };
    default:
      return { type, value: "" };
  }
}

function move<T>(list: T[], from: number, to: number): T[] {
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item!);
  return next;
}

export function RulesEditor({ rules, onChange }: { rules: Rule[]; onChange: (rules: Rule[]) => void }) {
  const setRule = (index: number, rule: Rule) => onChange(rules.map((r, i) => (i === index ? rule : r)));
  return (
    <fieldset class="rules" data-testid="rules">
      <legend>{t("rules.title")}</legend>
      <p class="muted">{t("rules.help")}</p>
      <ol>
        {rules.map((rule, index) => (
          <li key={index} class="rule">
            <div class="rule-head">
              <strong>{t("rules.rule", { n: index + 1 })}</strong>
              <span class="actions">
                <button
                  type="button"
                  class="small"
                  disabled={index === 0}
                  onClick={() => onChange(move(rules, index, index - 1))}
                  aria-label={t("rules.up", { n: index + 1 })}
                >
                  ↑
                </button>
                <button
                  type="button"
                  class="small"
                  disabled={index === rules.length - 1}
                  onClick={() => onChange(move(rules, index, index + 1))}
                  aria-label={t("rules.down", { n: index + 1 })}
                >
                  ↓
                </button>
                <button
                  type="button"
                  class="small danger"
                  onClick={() => onChange(rules.filter((_, i) => i !== index))}
                >
                  {t("rules.remove")}
                </button>
              </span>
            </div>
            {rule.conditions.map((condition, ci) => (
              <ConditionRow
                key={ci}
                condition={condition}
                onChange={(c) =>
                  setRule(index, { ...rule, conditions: rule.conditions.map((x, i) => (i === ci ? c : x)) })
                }
                onRemove={() =>
                  setRule(index, { ...rule, conditions: rule.conditions.filter((_, i) => i !== ci) })
                }
              />
            ))}
            <button
              type="button"
              class="small"
              onClick={() => setRule(index, { ...rule, conditions: [...rule.conditions, blank("device")] })}
            >
              + {t("rules.addCondition")}
            </button>
            <Field label={t("rules.target")}>
              <input
                type="url"
                required
                value={rule.target}
                onInput={(e) => setRule(index, { ...rule, target: e.currentTarget.value })}
              />
            </Field>
          </li>
        ))}
      </ol>
      <button
        type="button"
        onClick={() => onChange([...rules, { conditions: [blank("device")], target: "" }])}
      >
        + {t("rules.add")}
      </button>
    </fieldset>
  );
}

function ConditionRow(props: {
  condition: Condition;
  onChange: (c: Condition) => void;
  onRemove: () => void;
}) {
  const c = props.condition;
  return (
    <div class="condition">
      <select
        aria-label={t("rules.conditionType")}
        value={c.type}
        onChange={(e) => props.onChange(blank(e.currentTarget.value as ConditionType))}
      >
        {TYPES.map((type) => (
          <option key={type} value={type}>
            {t(`rules.type.${type}`)}
          </option>
        ))}
      </select>
      {c.type === "device" && (
        <select
          aria-label={t("rules.value")}
          value={c.value}
          onChange={(e) =>
            props.onChange({ type: "device", value: e.currentTarget.value as (typeof DEVICES)[number] })
          }
        >
          {DEVICES.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      )}
      {(c.type === "language" || c.type === "country") && (
        <input
          aria-label={t("rules.value")}
          placeholder={c.type === "language" ? "de, pt-BR" : "DE"}
          value={c.value}
          onInput={(e) => props.onChange({ type: c.type, value: e.currentTarget.value })}
        />
      )}
      {c.type === "query" && (
        <>
          <input
            aria-label={t("rules.queryName")}
            placeholder={t("rules.queryName")}
            value={c.name}
            onInput={(e) => props.onChange({ ...c, name: e.currentTarget.value })}
          />
          <input
            aria-label={t("rules.queryValue")}
            placeholder={t("rules.queryValueAny")}
            value={c.value ?? ""}
            onInput={(e) => {
              const value = e.currentTarget.value;
              props.onChange(
                value === "" ? { type: "query", name: c.name } : { type: "query", name: c.name, value },
              );
            }}
          />
        </>
      )}
      {(c.type === "before" || c.type === "after") && (
        <input
          type="datetime-local"
          aria-label={t("rules.value")}
          value={toLocalInput(c.value)}
          onInput={(e) =>
            props.onChange({ type: c.type, value: fromLocalInput(e.currentTarget.value) ?? "" })
          }
        />
      )}
      <button
        type="button"
        class="small quiet"
        onClick={props.onRemove}
        aria-label={t("rules.removeCondition")}
      >
        ×
      </button>
    </div>
  );
}
