/**
 * The config section of an apply. Values are checked and written like `PUT /config/{key}` (history, change
 * event); from the provisioning file they are also pinned (`source: "file"`, read-only through the API). Keys the
 * document omits are left alone: config is never pruned (a key the file drops keeps its last value and becomes
 * editable again).
 */
import type { ConfigKey } from "../../config/registry.js";
import type { ConfigService } from "../../config/service.js";
import type { FieldError } from "../../errors.js";
import { REDACTED } from "../../text.js";
import type { Change, SectionOptions, SectionPlan } from "../plan.js";

export async function planConfig(
  values: Readonly<Record<string, string | number | boolean>>,
  options: SectionOptions,
  context: { config: ConfigService; actor: string },
): Promise<SectionPlan> {
  const { config, actor } = context;
  const errors: FieldError[] = [];
  const changes: Change[] = [];
  const writes: { key: ConfigKey; value: string; old: string }[] = [];
  const pins: { key: ConfigKey; value: string }[] = [];
  let unchanged = 0;
  for (const [key, raw] of Object.entries(values)) {
    const preview = await config.preview(key, raw, options.owner);
    if (!preview.ok) {
      errors.push({ field: `config.${key}`, message: preview.message });
      continue;
    }
    const { value, current, sensitive } = preview;
    if (preview.pins) pins.push({ key: preview.key, value });
    if (preview.same) {
      unchanged++;
      continue;
    }
    const shown = (v: string) => (sensitive ? REDACTED : v);
    changes.push({
      kind: "config",
      id: key,
      action: "update",
      diff: { value: { from: shown(current), to: shown(value) } },
    });
    writes.push({ key: preview.key, value, old: current });
  }
  return {
    changes,
    unchanged,
    errors,
    write: (trx, now) => config.writeApplied(trx, writes, actor, now),
    committed: () =>
      config.adoptApplied(
        pins,
        writes.map((w) => w.key),
      ),
  };
}
