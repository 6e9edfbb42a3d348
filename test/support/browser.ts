/**
 * Headless Chromium for browser tests: Debian's `chromium` driven by playwright-core (which never downloads a
 * browser). Without Chromium the browser tests skip — except under CI (`CI=true`), where they fail, so a CI
 * machine that lost its browser cannot pass silently. `.ci/run` installs it.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.JMP_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or false when they can (a skip reason for node:test). */
export function browserUnavailable(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === "true")
    throw new Error(`CI=true but Chromium is missing at ${CHROMIUM} (apt-get install chromium)`);
  return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // The closed network refuses Chromium's background connections; these flags keep it from trying.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
