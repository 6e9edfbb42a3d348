import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkRules, matchRule, preferredLanguage, type Rule } from "./rules.js";

describe("redirect rules", () => {
  it("picks the preferred language by q, skipping wildcards, zero weights and junk", () => {
    assert.equal(preferredLanguage("en-US,en;q=0.9,de;q=0.8"), "en-us");
    assert.equal(preferredLanguage("de;q=0.5, fr;q=0.9"), "fr");
    assert.equal(preferredLanguage("*, it;q=0.1"), "it");
    assert.equal(preferredLanguage("es;q=0, pt;q=0.2"), "pt");
    assert.equal(preferredLanguage("<script>"), undefined);
    assert.equal(preferredLanguage(undefined), undefined);
  });

  it("checks rules whole: targets, condition types and values, counts", () => {
    const ok = checkRules([
      { conditions: [{ type: "after", value: "2030-01-01T01:00:00+01:00" }], target: " https://x.example " },
    ]);
    assert.deepEqual(ok, {
      ok: true,
      rules: [
        { conditions: [{ type: "after", value: "2030-01-01T00:00:00.000Z" }], target: "https://x.example" },
      ],
    });
    const bad = (
      conditions: { type: string; value?: string; name?: string }[],
      target = "https://x.example",
    ) => checkRules([{ conditions, target }]);
    assert.match(JSON.stringify(bad([{ type: "device", value: "fridge" }])), /device must be one of/);
    assert.match(JSON.stringify(bad([{ type: "language", value: "english!" }])), /language tag/);
    assert.match(JSON.stringify(bad([{ type: "query", name: "" }])), /parameter name/);
    assert.match(JSON.stringify(bad([{ type: "before", value: "soon" }])), /RFC 3339/);
    assert.match(JSON.stringify(bad([{ type: "country", value: "Germany" }])), /alpha-2/);
    assert.match(
      JSON.stringify(bad([{ type: "weather", value: "rain" }])),
      /unknown condition type 'weather'/,
    );
    assert.match(JSON.stringify(bad([])), /needs 1 to 10 conditions/);
    assert.match(JSON.stringify(bad([{ type: "device", value: "ios" }], "ftp://x")), /rule 1: target URL/);
    const many = Array.from({ length: 21 }, () => ({
      conditions: [{ type: "device", value: "ios" }],
      target: "https://x.example",
    }));
    assert.match(JSON.stringify(checkRules(many)), /at most 20 rules/);
  });

  it("matches the first rule whose conditions all hold", () => {
    const rules: Rule[] = [
      {
        conditions: [
          { type: "device", value: "desktop" },
          { type: "query", name: "v", value: "2" },
        ],
        target: "a",
      },
      { conditions: [{ type: "device", value: "mobile" }], target: "b" },
      { conditions: [{ type: "before", value: "2030-01-01T00:00:00.000Z" }], target: "c" },
      {
        conditions: [
          { type: "country", value: "FR" },
          { type: "query", name: "fr" },
        ],
        target: "d",
      },
    ];
    const visit = (userAgent: string, query = "", now = Date.UTC(2031, 0, 1)) =>
      matchRule(rules, { userAgent, acceptLanguage: undefined, query, now, country: () => "FR" });
    assert.equal(visit("Mozilla/5.0 (X11; Linux x86_64)", "v=2"), 0);
    assert.equal(visit("Mozilla/5.0 (X11; Linux x86_64)", "v=1&v=2"), 0, "any of repeated values");
    assert.equal(visit("Mozilla/5.0 (iPad; CPU OS 17_0)"), 1, "tablets are mobile");
    assert.equal(visit("Mozilla/5.0 (X11; Linux x86_64)", "", Date.UTC(2029, 0, 1)), 2);
    assert.equal(visit("Mozilla/5.0 (X11; Linux x86_64)"), -1);
    assert.equal(visit("Mozilla/5.0 (X11; Linux x86_64)", "fr"), 3, "country from the lookup");
    assert.equal(visit(""), -1, "no user agent is no device");
  });
});

it("answers any malformed shape with a reason, never an exception (CSV cells hold any JSON)", () => {
  for (const input of [
    null,
    "x",
    {},
    [1],
    [null],
    [{}],
    [{ target: 5, conditions: [] }],
    [{ target: "https://a.example", conditions: "x" }],
    [{ target: "https://a.example", conditions: [null] }],
    [{ target: "https://a.example", conditions: [{ type: 1 }] }],
    [{ target: "https://a.example", conditions: [{ type: "query", name: {} }] }],
    [{ target: "https://a.example", conditions: [{ type: "device", value: ["ios"] }] }],
  ]) {
    const checked = checkRules(input);
    assert.equal(checked.ok, false, JSON.stringify(input));
  }
});
