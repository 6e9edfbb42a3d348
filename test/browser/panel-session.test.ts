/**
 * The panel's session in Chromium: an expired access cookie is renewed once through /auth/refresh and the page
 * carries on; without a refresh cookie the login form comes back; logout and "log out everywhere" end sessions
 * (the latter on every browser); too many wrong passwords show the server's Retry-After. Runs on its own
 * server: it ends every session and trips the login rate limit.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { browserUnavailable, launchBrowser } from "../support/browser.js";
import { loginThroughForm, openPanel, type PanelPage } from "../support/panel.js";
import { startServer, type TestServer } from "../support/server.js";

const skip = browserUnavailable();

/** The only console errors allowed here: the browser's own line for a 401 that the panel then handles. */
function unexpected(p: PanelPage): string[] {
  return p.problems.filter((line) => !/status of 401 \(Unauthorized\)/.test(line));
}

describe("the panel's session in Chromium", { skip }, () => {
  let s: TestServer;
  let browser: Browser;
  before(async () => {
    s = await startServer("sqlite");
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it("renews an expired access cookie once through /auth/refresh, and shows the login form when it cannot", async () => {
    const p = await openPanel(browser);
    const { page, context } = p;
    await loginThroughForm(page, s.url);
    await context.clearCookies({ name: "jmp_access" });
    const refreshed = page.waitForRequest((r) => r.url().endsWith("/admin/v1/auth/refresh"));
    await page.goto(`${s.url}/panel/links`);
    await refreshed;
    await page.getByTestId("links-table").waitFor();
    assert.ok(
      (await context.cookies()).some((c) => c.name === "jmp_access"),
      "a new access cookie",
    );

    await context.clearCookies({ name: "jmp_access" });
    await context.clearCookies({ name: "jmp_refresh" });
    await page.goto(`${s.url}/panel/links`);
    await page.getByLabel("Admin password").waitFor();
    assert.equal(new URL(page.url()).pathname, "/panel/links", "signing in again returns to the same page");
    await loginThroughForm(page, s.url);
    assert.deepEqual(unexpected(p), []);
    assert.deepEqual(p.unprotectedWrites, []);
    await context.close();
  });

  it("logs out, and logs out everywhere: every browser's session ends", async () => {
    const one = await openPanel(browser);
    const two = await openPanel(browser);
    await loginThroughForm(one.page, s.url);
    await loginThroughForm(two.page, s.url);

    await one.page.getByRole("button", { name: "Log out", exact: true }).click();
    await one.page.getByLabel("Admin password").waitFor();
    const cookies = await one.context.cookies();
    assert.equal(
      cookies.find((c) => c.name === "jmp_access"),
      undefined,
      "the session cookie is gone",
    );

    await loginThroughForm(one.page, s.url);
    one.page.once("dialog", (dialog) => void dialog.accept());
    await one.page.getByRole("button", { name: "Log out everywhere" }).click();
    await one.page.getByLabel("Admin password").waitFor();
    assert.ok(one.writes.includes("POST /admin/v1/auth/logout-everywhere"));
    // The other browser's cookies are still there, but the server refuses them (and the refresh).
    await two.page.goto(`${s.url}/panel/keys`);
    await two.page.getByLabel("Admin password").waitFor();
    for (const p of [one, two]) {
      assert.deepEqual(unexpected(p), []);
      assert.deepEqual(p.unprotectedWrites, []);
      await p.context.close();
    }
  });

  it("shows how long to wait after too many wrong passwords (429 with Retry-After)", async () => {
    const p = await openPanel(browser);
    const { page } = p;
    await page.goto(`${s.url}/panel/`);
    const wait = page.getByTestId("retry-after");
    for (let attempt = 0; attempt < 12 && !(await wait.isVisible()); attempt++) {
      await page.getByLabel("Admin password").fill(`wrong ${attempt}`);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").waitFor();
      await page.waitForTimeout(50);
    }
    assert.match(await wait.innerText(), /Too many attempts: try again in \d+ s\./);
    assert.equal(await page.getByRole("button", { name: "Sign in" }).isDisabled(), true);
    assert.deepEqual(
      p.problems.filter((line) => !/status of (401|429)/.test(line)),
      [],
    );
    await p.context.close();
  });
});
