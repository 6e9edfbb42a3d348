/**
 * Driving the web admin panel in Chromium: a page that records console errors, page errors and CSP violations,
 * and checks that every write the panel sends carries the CSRF header; login through the real form;
 * screenshots under test-output/panel/ (the best are copied into docs/panel/ by hand).
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ADMIN_PASSWORD } from "./server.js";

export const SHOTS = path.resolve("test-output/panel");

export interface PanelPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions and CSP violations seen so far. */
  problems: string[];
  /** Admin API writes sent without an `X-CSRF-Token` equal to the `csrf_token` cookie. */
  unprotectedWrites: string[];
  /** Every Admin API write sent (method and path). */
  writes: string[];
  /** HTTP error statuses the test provokes on purpose (the browser logs those as console errors). */
  expectedStatuses: Set<number>;
}

export async function openPanel(
  browser: Browser,
  options: { width?: number; height?: number; locale?: string; storageState?: string } = {},
): Promise<PanelPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 860 },
    locale: options.locale ?? "en-US",
    acceptDownloads: true,
    ...(options.storageState ? { storageState: options.storageState } : {}),
  });
  const page = await context.newPage();
  const result: PanelPage = {
    page,
    context,
    problems: [],
    unprotectedWrites: [],
    writes: [],
    expectedStatuses: new Set(),
  };
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // Chromium logs every 4xx answer as "Failed to load resource"; one a test provokes is not a problem.
    const status = /status of (\d{3})/.exec(message.text())?.[1];
    if (status && result.expectedStatuses.has(Number(status))) return;
    result.problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (err) => result.problems.push(`pageerror: ${err.message}`));
  page.on("request", async (request) => {
    const url = new URL(request.url());
    const method = request.method();
    if (!url.pathname.startsWith("/admin/") || method === "GET" || method === "HEAD") return;
    result.writes.push(`${method} ${url.pathname}`);
    if (url.pathname.endsWith("/auth/login")) return;
    // The cookie the request itself carried (the answer may replace or expire it before this runs).
    const headers = await request.allHeaders();
    const cookie = /(?:^|;\s*)csrf_token=([^;]+)/.exec(headers.cookie ?? "")?.[1];
    if (!cookie || headers["x-csrf-token"] !== cookie)
      result.unprotectedWrites.push(`${method} ${url.pathname}`);
  });
  return result;
}

export async function loginThroughForm(page: Page, base: string, password = ADMIN_PASSWORD): Promise<void> {
  await page.goto(`${base}/panel/`);
  await page.getByLabel("Admin password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator(".shell").waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The page must not be wider than its viewport (no sideways scrolling of the whole document). */
export async function assertNoHorizontalOverflow(page: Page, what: string): Promise<void> {
  const { scroll, width } = (await page.evaluate(
    "({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })",
  )) as { scroll: number; width: number };
  assert.ok(scroll <= width + 1, `${what}: the document is ${scroll} px wide in a ${width} px viewport`);
}

/** Accepts the next confirm()/prompt(), answering a prompt with `answer`. */
export function acceptNextDialog(page: Page, answer?: string): void {
  page.once("dialog", (dialog) => void dialog.accept(answer));
}
