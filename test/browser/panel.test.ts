/**
 * The web admin panel in a real Chromium, against a real jmp (SQLite) on a real port: every page as an admin
 * uses it. Each test opens its own browser context (cookies isolated) from a session made once through the login
 * form, and ends by checking that the page logged no console error, page error or CSP violation, and that every
 * Admin API write it sent carried the CSRF header. Screenshots go to test-output/panel/.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { browserUnavailable, launchBrowser } from "../support/browser.js";
import {
  acceptNextDialog,
  assertNoHorizontalOverflow,
  loginThroughForm,
  openPanel,
  type PanelPage,
  screenshot,
} from "../support/panel.js";
import { startServer, type TestServer } from "../support/server.js";

const skip = browserUnavailable();
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const XSS_TITLE = `<img src=x onerror="window.__xss=1">`;
const XSS_TAG = "<img src=x onerror=window.__xss=2>";
/** Evaluated in the page: the QR preview image has loaded. */
/** Waits until the element's rendered text matches (for parts of a page that load on their own). */
async function untilText(page: Page, selector: string, pattern: RegExp): Promise<void> {
  const text = `document.querySelector(${JSON.stringify(selector)})?.innerText ?? ""`;
  await page.waitForFunction(
    `new RegExp(${JSON.stringify(pattern.source)}, ${JSON.stringify(pattern.flags)}).test(${text})`,
  );
}

const QR_LOADED = `document.querySelector("[data-testid=qr] img")?.naturalWidth > 0`;
const PAGES = ["", "links", "analytics", "tags", "keys", "settings", "audit", "about"];

describe("the admin panel in Chromium", { skip }, () => {
  let s: TestServer;
  let browser: Browser;
  let session: string;

  before(async () => {
    s = await startServer("sqlite", { JMP_CONFIG_FEATURES__RANDOM_CODE_LENGTH: "8" });
    browser = await launchBrowser();
    const first = await openPanel(browser);
    await loginThroughForm(first.page, s.url);
    session = path.join(mkdtempSync(path.join(tmpdir(), "jmp-panel-")), "session.json");
    await first.context.storageState({ path: session });
    await finish(first);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const open = (options: { width?: number; locale?: string } = {}) =>
    openPanel(browser, { storageState: session, ...options });

  /** Closes the context, then checks what it saw. */
  async function finish(p: PanelPage): Promise<void> {
    await p.page.waitForTimeout(100); // late request listeners
    await p.context.close();
    assert.deepEqual(p.problems, [], "no console error, page error or CSP violation");
    assert.deepEqual(p.unprotectedWrites, [], "every write carries X-CSRF-Token");
  }

  const link = async (code: string) => (await s.api.get(`/admin/v1/links/${code}`)).json.data;
  const form = (page: Page) => page.locator("dialog[open] form");

  it("shows the login form interactive within a second, refuses a wrong password, and signs in", async () => {
    // The best of up to three cold loads (each in a fresh context, nothing cached): a page that grew slow misses
    // every time, while one load slowed by the other suites sharing this machine's two cores does not fail it.
    const loads: number[] = [];
    let p = await openPanel(browser);
    for (;;) {
      const started = performance.now();
      await p.page.goto(`${s.url}/panel/`);
      await p.page.getByLabel("Admin password").waitFor();
      loads.push(Math.round(performance.now() - started));
      if (loads.at(-1)! < 1000 || loads.length === 3) break;
      await finish(p);
      p = await openPanel(browser);
    }
    assert.ok(Math.min(...loads) < 1000, `the first page took ${loads.join(", ")} ms to be usable`);
    p.expectedStatuses.add(401); // the wrong password
    await screenshot(p.page, "login");
    await p.page.getByLabel("Admin password").fill("not the password");
    await p.page.getByRole("button", { name: "Sign in" }).click();
    await p.page.getByRole("alert").waitFor();
    assert.equal(await p.page.getByRole("alert").innerText(), "Wrong password.");
    await loginThroughForm(p.page, s.url);
    await p.page.getByTestId("health").waitFor();
    assert.match(await p.page.getByTestId("health").innerText(), /sqlite/);
    await finish(p);
  });

  it("creates a link with every setting, the rules editor included", async () => {
    const p = await open();
    const { page } = p;
    await page.goto(`${s.url}/panel/links?new=1`);
    const f = form(page);
    await f.locator('[name="code"]').fill("full");
    await f.locator('[name="target"]').fill("https://example.com/full");
    await f.locator('[name="title"]').fill("Everything set");
    await f.locator('[name="tags"]').fill("promo, print");
    await f.locator('[name="redirect_status"]').selectOption("302");
    await f.locator('[name="expires"]').selectOption("7d");
    await f.locator('[name="valid_from"]').fill("2026-01-02T03:04");
    await f.locator('[name="max_clicks"]').fill("100");
    await f.locator('[name="fallback_url"]').fill("https://example.com/gone");
    await f.locator('[name="password"]').selectOption("set");
    await f.locator('[name="password_value"]').fill("open sesame");
    await f.locator('[name="notes"]').fill("line one\nline two");
    await f.locator('[name="forward_query"]').check();
    await f.locator('[name="crawlable"]').check();
    // Rules: country DE first, then iPhone — then the second is moved up.
    const rules = f.getByTestId("rules");
    await rules.getByRole("button", { name: "Add rule" }).click();
    const first = rules.locator("li.rule").nth(0);
    await first.getByLabel("Condition type").selectOption("country");
    await first.getByLabel("Value").fill("DE");
    await first.getByLabel("Then go to").fill("https://example.de/");
    await rules.getByRole("button", { name: "Add rule" }).click();
    const second = rules.locator("li.rule").nth(1);
    await second.getByLabel("Value").selectOption("ios");
    await second.getByLabel("Then go to").fill("https://apps.apple.com/x");
    await rules.getByRole("button", { name: "Move rule 2 up" }).click();
    await screenshot(page, "link-form");
    const before = Date.now();
    await f.getByRole("button", { name: "New link" }).click();
    await page.getByRole("status").filter({ hasText: "Created full." }).waitFor();

    const stored = await link("full");
    assert.equal(stored.target, "https://example.com/full");
    assert.equal(stored.title, "Everything set");
    assert.deepEqual(stored.tags, ["print", "promo"]);
    assert.equal(stored.redirect_status, 302);
    const expires = Date.parse(stored.expires_at) - before;
    assert.ok(Math.abs(expires - 7 * 86_400_000) < 120_000, `expires in ${expires} ms`);
    assert.equal(new Date(stored.valid_from).getTime(), new Date("2026-01-02T03:04").getTime());
    assert.equal(stored.max_clicks, 100);
    assert.equal(stored.fallback_url, "https://example.com/gone");
    assert.equal(stored.password, "[REDACTED]");
    assert.equal(stored.notes, "line one\nline two");
    assert.equal(stored.forward_query, true);
    assert.equal(stored.crawlable, true);
    assert.equal(stored.enabled, true);
    assert.deepEqual(stored.rules, [
      { conditions: [{ type: "device", value: "ios" }], target: "https://apps.apple.com/x" },
      { conditions: [{ type: "country", value: "DE" }], target: "https://example.de/" },
    ]);
    const row = page.locator('tr[data-code="full"]');
    await row.waitFor();
    assert.match(await row.innerText(), /Active/);
    await finish(p);
  });

  it("edits with If-Match: a change made meanwhile answers 412, the form shows what changed and loads it", async () => {
    const p = await open();
    p.expectedStatuses.add(412);
    const { page } = p;
    await page.goto(`${s.url}/panel/links?edit=full`);
    const f = form(page);
    await f.locator('[name="target"]').waitFor();
    assert.equal(await f.locator('[name="code"]').isDisabled(), true);
    // Someone else changes the title.
    const current = await link("full");
    const r = await s.api.put("/admin/v1/links/full", { target: current.target, title: "Changed elsewhere" });
    assert.equal(r.status, 200, r.text);
    await f.locator('[name="target"]').fill("https://example.com/mine");
    await f.getByRole("button", { name: "Save" }).click();
    const conflict = page.getByTestId("conflict");
    await conflict.waitFor();
    assert.match(await conflict.innerText(), /title/);
    assert.equal((await link("full")).target, "https://example.com/full", "the stale edit was not applied");
    await screenshot(page, "link-conflict");
    await conflict.getByRole("button", { name: "Load the current version" }).click();
    assert.equal(await f.locator('[name="title"]').inputValue(), "Changed elsewhere");
    await f.locator('[name="target"]').fill("https://example.com/mine");
    await f.locator('[name="password"]').selectOption("none");
    await f.locator('[name="enabled"]').uncheck();
    await f.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved full." }).waitFor();
    const stored = await link("full");
    assert.equal(stored.target, "https://example.com/mine");
    assert.equal(stored.title, "Changed elsewhere");
    assert.equal(stored.password, null);
    assert.equal(stored.enabled, false);
    assert.equal(stored.rules.length, 2, "settings not on the form's screen are kept");
    assert.ok(p.writes.some((w) => w === "PUT /admin/v1/links/full"));
    await finish(p);
  });

  it("lists links by search, status, tags, created range, sort and page size, all kept in the URL", async () => {
    const links = Array.from({ length: 25 }, (_, i) => ({
      code: `list-${String(i).padStart(2, "0")}`,
      target: `https://example.com/${i}`,
      tags: i % 2 === 0 ? ["even"] : ["odd"],
      enabled: i !== 3,
    }));
    assert.equal((await s.api.post("/admin/v1/links/batch", { links })).status, 200);
    for (let i = 0; i < 3; i++) await s.anon.get("/list-07");
    await s.app.clicks.flush();

    const p = await open();
    const { page } = p;
    await page.goto(`${s.url}/panel/links`);
    await page.getByLabel("Search codes and targets").fill("list-");
    await page.getByLabel("Search codes and targets").press("Enter");
    await page.waitForURL(/search=list-/, { waitUntil: "commit" });
    const table = page.getByTestId("links-table");
    await page.getByText("Page 1 of 2 · 25 in all").waitFor();
    await page.getByLabel("Per page").selectOption("50");
    await page.getByText("Page 1 of 1 · 25 in all").waitFor();
    await table.getByRole("button", { name: "Clicks" }).click();
    await page.waitForURL(/sort=click_count/, { waitUntil: "commit" });
    await table.getByRole("button", { name: /Clicks/ }).click();
    await page.waitForURL(/sort=-click_count/, { waitUntil: "commit" });
    await table.locator('tbody tr:first-child[data-code="list-07"]').waitFor();
    await page.locator('select[aria-label="Status"]').selectOption("disabled");
    await page.waitForURL(/status=disabled/, { waitUntil: "commit" });
    await page.getByText("Page 1 of 1 · 1 in all").waitFor();
    await table.locator('tbody tr:first-child[data-code="list-03"]').waitFor();
    await page.locator('select[aria-label="Status"]').selectOption("");
    await page.getByLabel("Tags (comma-separated)").fill("odd");
    await page.getByLabel("Tags (comma-separated)").press("Enter");
    await page.getByText("Page 1 of 1 · 12 in all").waitFor();
    const today = new Date().toISOString().slice(0, 10);
    await page.getByLabel("to", { exact: true }).fill("2000-01-01");
    await page.getByText("0 in all").waitFor();
    await page.getByLabel("to", { exact: true }).fill(today > "2000" ? "2100-01-01" : today);
    await page.getByText("Page 1 of 1 · 12 in all").waitFor();

    // The whole view is its URL: a reload (or a shared link) shows the same.
    const url = page.url();
    assert.match(url, /tags=odd/);
    await page.reload();
    await page.getByText("Page 1 of 1 · 12 in all").waitFor();
    assert.equal(await page.getByLabel("Tags (comma-separated)").inputValue(), "odd");
    await screenshot(page, "links");
    // Column toggles are remembered in the browser.
    await page.getByText("Columns").click();
    await page.locator(".menu-body").getByLabel("Title").check();
    await table.locator("th").filter({ hasText: "Title" }).waitFor();
    await page.reload();
    await page.getByTestId("links-table").locator("th").filter({ hasText: "Title" }).waitFor();
    await finish(p);
  });

  it("runs row actions and batch enable, disable, tag and delete on selected links", async () => {
    const links = ["b-1", "b-2", "b-3"].map((code) => ({ code, target: `https://example.com/${code}` }));
    assert.equal((await s.api.post("/admin/v1/links/batch", { links })).status, 200);
    const p = await open();
    const { page } = p;
    await page.goto(`${s.url}/panel/links?search=b-`);
    const table = page.getByTestId("links-table");
    await table.locator('tr[data-code="b-3"]').waitFor();
    await table.getByLabel("Select all on this page").check();
    const bar = page.getByRole("toolbar");
    await bar.getByRole("button", { name: "Disable" }).click();
    await page.getByText("3 done, 0 failed").waitFor();
    for (const code of ["b-1", "b-2", "b-3"]) assert.equal((await link(code)).enabled, false);
    await table.getByLabel("Select all on this page").check();
    acceptNextDialog(page, "campaign");
    await bar.getByRole("button", { name: "Add tag" }).click();
    await page.getByText("3 done, 0 failed").waitFor();
    assert.deepEqual((await link("b-2")).tags, ["campaign"]);
    await table.getByLabel("Select b-1").check();
    await table.getByLabel("Select b-2").check();
    await bar.getByRole("button", { name: "Enable" }).click();
    await page.getByText("2 done, 0 failed").waitFor();
    assert.equal((await link("b-1")).enabled, true);

    // Row actions: the QR dialog shows the code's image; delete asks first.
    await table.locator('tr[data-code="b-1"]').getByRole("button", { name: "QR" }).click();
    const qr = page.getByTestId("qr").locator("img");
    await qr.waitFor();
    await page.waitForFunction(QR_LOADED);
    await page.getByRole("button", { name: "Close" }).click();
    acceptNextDialog(page);
    await table.locator('tr[data-code="b-1"]').getByRole("button", { name: "Delete" }).click();
    await page.getByText("Deleted b-1.").waitFor();
    assert.equal((await s.api.get("/admin/v1/links/b-1")).status, 404);
    await table.getByLabel("Select all on this page").check();
    acceptNextDialog(page);
    await bar.getByRole("button", { name: "Delete" }).click();
    await page.getByText("2 done, 0 failed").waitFor();
    assert.equal((await s.api.get("/admin/v1/links/b-3")).status, 404);
    await finish(p);
  });

  it("imports a CSV with progress and per-row errors, and exports the list as CSV", async () => {
    const rows = Array.from({ length: 4000 }, (_, i) => `imp-${i},https://example.com/i/${i},,,,0`);
    rows.splice(7, 0, "imp-bad,ftp://example.com/nope,,,,0");
    const csv = `code,target,created_at,expires_at,password,click_count\n${rows.join("\n")}\n`;
    const p = await open();
    const { page } = p;
    await page.goto(`${s.url}/panel/links`);
    await page.getByRole("button", { name: "Import" }).click();
    const dialog = page.getByTestId("import");
    await dialog
      .locator('input[type="file"]')
      .setInputFiles({ name: "links.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    const progress = page.locator("progress").waitFor({ state: "attached", timeout: 10_000 });
    await dialog.getByRole("button", { name: "Import" }).click();
    await progress;
    const result = page.getByTestId("import-result");
    await result.waitFor({ timeout: 60_000 });
    assert.match(await result.innerText(), /4,001 rows: 4,000 imported, 0 skipped, 1 failed/);
    assert.match(await result.locator("tbody tr").innerText(), /imp-bad/);
    await screenshot(page, "import");
    await page.getByRole("button", { name: "Close" }).click();
    assert.equal((await link("imp-3999")).target, "https://example.com/i/3999");

    await page.getByLabel("Search codes and targets").fill("imp-1");
    await page.getByLabel("Search codes and targets").press("Enter");
    await page.waitForURL(/search=imp-1/, { waitUntil: "commit" });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    const exported = readFileSync((await download.path())!, "utf8")
      .trim()
      .split("\n");
    assert.ok(
      exported[0]!.startsWith("code,target,created_at,expires_at,password,click_count,"),
      exported[0],
    );
    assert.ok(
      exported.length > 1000 && exported.slice(1).every((line) => line.startsWith("imp-1")),
      "only the filtered links",
    );
    await finish(p);
  });

  it("generates settings from the schema: an editor per value type, pinned keys read-only, history, reset", async () => {
    const p = await open();
    p.expectedStatuses.add(400); // the refused value
    const { page } = p;
    await page.goto(`${s.url}/panel/settings`);
    const row = (key: string) => page.locator(`[data-key="${key}"]`);
    const save = async (key: string) => {
      await row(key).getByRole("button", { name: "Save" }).click();
      await page
        .getByRole("status")
        .filter({ hasText: `Saved ${key}.` })
        .waitFor();
    };
    const value = async (key: string) => (await s.api.get(`/admin/v1/config/${key}`)).json.data.value;
    await row("features.enable_public_qr").waitFor();

    await row("features.enable_public_qr").getByRole("switch").check(); // bool
    await save("features.enable_public_qr");
    assert.equal(await value("features.enable_public_qr"), "true");
    await row("cors.max_age").locator("input").fill("600"); // int
    await save("cors.max_age");
    assert.equal(await value("cors.max_age"), "600");
    await row("analytics.sample_rate").locator("input").fill("0.5"); // float
    await save("analytics.sample_rate");
    assert.equal(await value("analytics.sample_rate"), "0.5");
    await row("analytics.store_referrer").locator("select").selectOption("host"); // enum
    await save("analytics.store_referrer");
    assert.equal(await value("analytics.store_referrer"), "host");
    await row("cors.allowed_methods").getByLabel("PATCH").uncheck(); // enumarray
    await save("cors.allowed_methods");
    assert.deepEqual(JSON.parse(await value("cors.allowed_methods")), [
      "GET",
      "POST",
      "PUT",
      "DELETE",
      "HEAD",
      "OPTIONS",
    ]);
    await row("analytics.ignore_ips").locator("textarea").fill("10.0.0.0/8\n192.168.0.0/16"); // stringarray
    await save("analytics.ignore_ips");
    assert.deepEqual(JSON.parse(await value("analytics.ignore_ips")), ["10.0.0.0/8", "192.168.0.0/16"]);
    await row("features.default_url").locator("input").fill("https://home.example/"); // string
    await save("features.default_url");
    assert.equal(await value("features.default_url"), "https://home.example/");
    // A secret: generated and stored by the server, never shown.
    acceptNextDialog(page);
    await row("api.health_token").getByRole("button", { name: "Generate and save" }).click();
    await page.getByRole("status").filter({ hasText: "Generated a new api.health_token." }).waitFor();
    const token = (await s.api.get("/admin/v1/config/api.health_token")).json.data;
    assert.equal(token.value, "[REDACTED]");
    assert.equal(token.source, "db");
    assert.equal(await row("api.health_token").locator("input").inputValue(), "");
    // A refused value keeps the row's error and changes nothing.
    await row("cors.max_age").locator("input").fill("-5");
    await row("cors.max_age").getByRole("button", { name: "Save" }).click();
    await row("cors.max_age").getByRole("alert").waitFor();
    assert.equal(await value("cors.max_age"), "600");

    // Pinned by JMP_CONFIG_FEATURES__RANDOM_CODE_LENGTH: read-only, saying where it comes from.
    const pinned = row("features.random_code_length");
    assert.equal(await pinned.locator("input").isDisabled(), true);
    assert.equal(await pinned.getByRole("button", { name: "Save" }).count(), 0);
    assert.match(await pinned.innerText(), /environment/);

    // History with the actor, then reset to the default.
    await row("cors.max_age").getByRole("button", { name: "History" }).click();
    const history = row("cors.max_age").getByTestId("history");
    await history.waitFor();
    assert.match(await history.innerText(), /session\s+3600\s+600/);
    await screenshot(page, "settings");
    for (const key of [
      "cors.max_age",
      "analytics.sample_rate",
      "analytics.store_referrer",
      "cors.allowed_methods",
      "analytics.ignore_ips",
      "features.default_url",
    ]) {
      await row(key).getByRole("button", { name: "Reset" }).click();
      await page
        .getByRole("status")
        .filter({ hasText: `Reset ${key} to its default.` })
        .waitFor();
    }
    assert.equal(await value("cors.max_age"), "3600");
    assert.equal(await value("features.default_url"), "");
    await finish(p);
  });

  it("creates an API key with chosen scopes, shows its secret once and never again, rotates and revokes it", async () => {
    const p = await open();
    const { page } = p;
    await page.goto(`${s.url}/panel/keys`);
    const table = page.getByTestId("keys-table");
    await table.waitFor();
    assert.match(
      await table.locator("tbody tr").first().innerText(),
      /env/,
      "the bootstrap key, from the environment",
    );
    await page.getByRole("button", { name: "New API key" }).click();
    const create = page.getByTestId("create-key");
    await create.getByLabel("Name").fill("ci-deploy");
    await create.getByLabel("analytics:read").check();
    await create.getByRole("button", { name: "New API key" }).click();
    const secret = page.getByTestId("secret");
    await secret.waitFor();
    const token = await secret.locator("code").innerText();
    assert.match(token, /^jmp_[A-Za-z0-9]+$/);
    await screenshot(page, "keys-secret");
    const whoami = await fetch(`${s.url}/admin/v1/auth/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(whoami.status, 200);
    assert.deepEqual(((await whoami.json()) as { data: { scopes: string[] } }).data.scopes, [
      "links:read",
      "analytics:read",
    ]);
    await secret.getByRole("button", { name: "I have stored it" }).click();
    await page.reload();
    await table.locator('tr[data-key="ci-deploy"]').waitFor();
    assert.ok(!(await page.content()).includes(token), "the secret is never shown again");

    acceptNextDialog(page, "0");
    await table.locator('tr[data-key="ci-deploy"]').getByRole("button", { name: "Rotate" }).click();
    await secret.waitFor();
    const rotated = await secret.locator("code").innerText();
    assert.notEqual(rotated, token);
    const old = await fetch(`${s.url}/admin/v1/auth/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(old.status, 401, "no grace: the old secret stopped at once");
    acceptNextDialog(page);
    await table.locator('tr[data-key="ci-deploy"]').getByRole("button", { name: "Revoke" }).click();
    await table.locator('tr[data-key="ci-deploy"]').waitFor({ state: "detached" });
    const revoked = await fetch(`${s.url}/admin/v1/auth/whoami`, {
      headers: { authorization: `Bearer ${rotated}` },
    });
    assert.equal(revoked.status, 401);
    await page.getByLabel("Show revoked").check();
    await table.locator('tr[data-key="ci-deploy"].revoked').waitFor();
    await finish(p);
  });

  it("lists tags with counts, renames one onto another (a merge) and deletes one", async () => {
    const links = [
      { code: "t-1", target: "https://example.com/1", tags: ["alpha"] },
      { code: "t-2", target: "https://example.com/2", tags: ["alpha", "beta"] },
      { code: "t-3", target: "https://example.com/3", tags: ["beta"] },
    ];
    assert.equal((await s.api.post("/admin/v1/links/batch", { links })).status, 200);
    const p = await open();
    const { page } = p;
    await page.goto(`${s.url}/panel/tags`);
    const alpha = page.locator('tr[data-tag="alpha"]');
    await alpha.waitFor();
    assert.match(await alpha.innerText(), /alpha\s+2\s+0/);
    acceptNextDialog(page, "beta");
    await alpha.getByRole("button", { name: "Rename" }).click();
    await page.getByText("Renamed alpha to beta on 2 links.").waitFor();
    // The notice shows as soon as the rename answers; the table reloads after it.
    await untilText(page, 'tr[data-tag="beta"]', /beta\s+3/);
    assert.equal(await page.locator('tr[data-tag="alpha"]').count(), 0);
    assert.deepEqual((await link("t-2")).tags, ["beta"]);
    await screenshot(page, "tags");
    acceptNextDialog(page);
    await page.locator('tr[data-tag="beta"]').getByRole("button", { name: "Delete" }).click();
    await page.getByText("Removed beta from 3 links.").waitFor();
    assert.deepEqual((await link("t-3")).tags, []);
    await finish(p);
  });

  it("shows analytics of seeded clicks: totals, a chart, ranked lists, a row click filters the page, CSV export", async () => {
    assert.equal(
      (await s.api.put("/admin/v1/config/analytics.enable_detailed_logging", { value: "true" })).status,
      200,
    );
    const links = ["an-a", "an-b"].map((code) => ({ code, target: `https://example.com/${code}` }));
    assert.equal((await s.api.post("/admin/v1/links/batch", { links })).status, 200);
    const visits: [string, string][] = [
      ["/an-a", CHROME],
      ["/an-a", CHROME],
      ["/an-a?utm_source=newsletter", IPHONE],
      ["/an-b", IPHONE],
    ];
    for (const [pathname, ua] of visits) {
      assert.equal((await s.anon.request("GET", pathname, { headers: { "user-agent": ua } })).status, 307);
    }
    await s.app.clicks.flush();
    assert.equal(await s.app.capture!.flush(), true);

    const p = await open();
    const { page } = p;
    const analyticsCalls: string[] = [];
    let summaryCall: string | undefined;
    page.on("request", (request) => {
      if (/\/analytics\/(trends|summary|top)/.test(request.url())) analyticsCalls.push(request.url());
      if (request.url().includes("/analytics/summary")) summaryCall ??= request.url();
    });
    await page.goto(`${s.url}/panel/analytics?range=24h`);
    await page.getByTestId("top").getByText("an-a").waitFor(); // the page's calls were made
    const total = page.getByTestId("clicks-total");
    // Every link's clicks of the last 24 hours (earlier tests clicked too), as the API counts them.
    const expected = (await s.api.get(`/admin/v1/analytics/summary?${new URL(summaryCall!).searchParams}`))
      .json.data.clicks;
    assert.ok(expected >= 4);
    await total.filter({ hasText: new RegExp(`^Clicks\\s*${expected}\\b`) }).waitFor();
    await page.getByTestId("trend").locator("canvas").first().waitFor();
    const top = page.getByTestId("top");
    await top.getByText("an-a").waitFor();
    assert.match(await top.innerText(), /an-a\s+3[\s\S]*an-b\s+1/);
    // Each list loads on its own: wait for each rather than read it once.
    await page.getByTestId("sources").getByText("newsletter").waitFor();
    await untilText(page, '[data-testid="browsers"]', /Chrome\s+2/);
    await screenshot(page, "analytics");
    await top.getByRole("button", { name: "an-a" }).click();
    await page.waitForURL(/code=an-a/, { waitUntil: "commit" });
    await page.getByTestId("filters").getByText("code: an-a").waitFor();
    await total.filter({ hasText: /^Clicks\s*3\b/ }).waitFor();
    assert.ok(
      analyticsCalls.length > 0 && analyticsCalls.every((url) => new URL(url).searchParams.get("tz")),
      "every analytics call sends the browser's time zone",
    );
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export clicks (CSV)" }).click(),
    ]);
    const csv = readFileSync((await download.path())!, "utf8").split("\n");
    assert.equal(csv[0], "short_code,clicked_at,referrer,source,ip_address,country,city");
    assert.equal(csv.filter((line) => line.startsWith("an-")).length, 4, csv.slice(0, 6).join("\n"));

    // The link's own page: settings, QR, its trend and recent clicks.
    await page.goto(`${s.url}/panel/link/an-a?range=24h`);
    await page.getByTestId("link-settings").waitFor();
    await page.getByTestId("range-clicks").filter({ hasText: /3/ }).waitFor();
    await page.getByTestId("trend").locator("canvas").first().waitFor();
    assert.equal(await page.getByTestId("clicks").locator("tbody tr").count(), 3);
    await page.waitForFunction(QR_LOADED);
    const [png] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download PNG" }).click(),
    ]);
    assert.deepEqual([...readFileSync((await png.path())!).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.equal(png.suggestedFilename(), "an-a.png");
    await screenshot(page, "link-detail");
    await finish(p);
  });

  it("filters the audit log and shows redacted before/after", async () => {
    const p = await open();
    const { page } = p;
    await page.goto(`${s.url}/panel/audit`);
    await page.getByTestId("audit-table").waitFor();
    await page.getByLabel("Object type").selectOption("link");
    await page.getByLabel("Object id").fill("full");
    await page.getByLabel("Object id").press("Enter");
    await page.waitForURL(/object_id=full/, { waitUntil: "commit" });
    const rows = page.getByTestId("audit-table").locator("tbody tr");
    // The URL changes before the filtered page renders, and the unfiltered one has link.create rows too: wait
    // until the rows of other objects are gone.
    await rows.filter({ hasNotText: "full" }).first().waitFor({ state: "detached" });
    await rows.filter({ hasText: "link.create" }).waitFor();
    for (const text of await rows.allInnerTexts()) assert.match(text, /link\s+full/);
    await rows.filter({ hasText: "link.create" }).getByText("Before / after").click();
    const details = await rows.filter({ hasText: "link.create" }).locator(".diff").innerText();
    assert.match(details, /"password": "\[REDACTED\]"/);
    assert.doesNotMatch(details, /open sesame/);
    await page.getByLabel("Actor").fill("nobody");
    await page.getByLabel("Actor").press("Enter");
    await page.getByText("No entries match.").waitFor();
    await screenshot(page, "audit");
    await finish(p);
  });

  it("renders hostile titles, notes and tags as text on every page (XSS probes)", async () => {
    const r = await s.api.post("/admin/v1/links", {
      code: "xss",
      target: "https://example.com/xss",
      title: XSS_TITLE,
      notes: XSS_TITLE,
      tags: [XSS_TAG],
    });
    assert.equal(r.status, 201, r.text);
    await s.anon.request("GET", "/xss", {
      headers: { "user-agent": CHROME, referer: `https://evil.example/${XSS_TITLE}` },
    });
    await s.app.clicks.flush();
    await s.app.capture!.flush();
    const p = await open();
    const { page } = p;
    for (const view of [
      "",
      "links?search=xss",
      "link/xss?range=24h",
      "tags",
      "analytics?range=24h",
      "audit?object_id=xss",
    ]) {
      await page.goto(`${s.url}/panel/${view}`);
      await page.waitForLoadState("networkidle");
      assert.equal(await page.evaluate("typeof window.__xss"), "undefined", view);
      assert.equal(await page.locator('img[src="x"]').count(), 0, view);
    }
    await page.goto(`${s.url}/panel/link/xss`);
    await page.getByTestId("link-settings").getByText(XSS_TITLE).first().waitFor();
    await page.goto(`${s.url}/panel/tags`);
    await page.getByText(XSS_TAG).waitFor();
    await finish(p);
  });

  it("speaks the browser's language (Simplified Chinese here) and switches at once, remembering the choice", async () => {
    const p = await open({ locale: "zh-CN" });
    const { page } = p;
    await page.goto(`${s.url}/panel/links`);
    await page.getByRole("link", { name: "链接" }).waitFor();
    assert.equal(await page.evaluate("document.documentElement.lang"), "zh-CN");
    await page.getByRole("button", { name: "新建链接" }).waitFor();
    await screenshot(page, "links-zh");
    await page.getByLabel("语言").selectOption("en");
    await page.getByRole("button", { name: "New link" }).waitFor();
    await page.reload();
    await page.getByRole("button", { name: "New link" }).waitFor();
    await page.getByLabel("Language").selectOption("zh");
    await page.getByRole("heading", { name: "链接" }).waitFor();
    await finish(p);
  });

  it("fits a 390 px wide screen on every page, and shows every page without a console error", async () => {
    for (const width of [1280, 390]) {
      const p = await open({ width });
      const { page } = p;
      for (const view of PAGES) {
        await page.goto(`${s.url}/panel/${view}`);
        await page.locator("main#main h1").first().waitFor();
        await page.waitForLoadState("networkidle");
        if (width === 390) await assertNoHorizontalOverflow(page, view || "dashboard");
        await screenshot(page, `${width === 390 ? "mobile-" : "page-"}${view || "dashboard"}`);
      }
      await page.goto(`${s.url}/panel/links?new=1`);
      await form(page).waitFor();
      if (width === 390) await assertNoHorizontalOverflow(page, "the link form");
      await finish(p);
    }
  });
});
