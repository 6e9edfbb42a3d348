import assert from "node:assert/strict";
import { it } from "node:test";
import {
  anonymizeIp,
  ignoredAddresses,
  referrerHost,
  sourceOf,
  storedReferrer,
  UserAgentClassifier,
} from "./classify.js";

it("sourceOf: utm_source first (decoded, empty ignored), then ref:<host>, then direct", () => {
  assert.equal(sourceOf("/x?a=1&utm_source=news%20letter", "https://g.com/"), "news letter");
  assert.equal(sourceOf("/x?utm_source=a+b", undefined), "a b");
  assert.equal(sourceOf("/x?utm_source=&utm_source=", "https://Example.COM:8443/p"), "ref:example.com");
  assert.equal(sourceOf("/x?utm_source=%E0%A4", undefined), "%E0%A4", "undecodable: kept as sent");
  assert.equal(sourceOf("/x", "android-app://com.google"), "direct");
  assert.equal(sourceOf("/x", undefined), "direct");
  assert.equal(sourceOf(`/x?utm_source=${"a".repeat(400)}`, undefined).length, 255);
});

it("referrerHost: http(s) only, credentials and port dropped, IPv6 literal kept", () => {
  assert.equal(referrerHost("https://user:pw@Host.example:81/x"), "host.example");
  assert.equal(referrerHost("http://[2001:db8::1]:8080/"), "[2001:db8::1]");
  assert.equal(referrerHost("ftp://host/"), null);
  assert.equal(referrerHost("https://"), null);
});

it("storedReferrer: full (capped), host or none", () => {
  assert.equal(storedReferrer("https://a.example/p?q", "full"), "https://a.example/p?q");
  assert.equal(storedReferrer(`https://a.example/${"p".repeat(2000)}`, "full")!.length, 1024);
  assert.equal(storedReferrer("https://A.example/p", "host"), "a.example");
  assert.equal(storedReferrer("https://a.example/p", "none"), null);
});

it("anonymizeIp: IPv4 /24, IPv6 /48, IPv4-mapped as IPv4, junk → null", () => {
  assert.equal(anonymizeIp("203.0.113.77"), "203.0.113.0");
  assert.equal(anonymizeIp("::ffff:203.0.113.77"), "203.0.113.0");
  assert.equal(anonymizeIp("2001:db8:abcd:12::1"), "2001:db8:abcd::");
  assert.equal(anonymizeIp("2001:db8::1"), "2001:db8:0::");
  assert.equal(anonymizeIp("::1"), "0:0:0::");
  assert.equal(anonymizeIp("fe80::1%eth0"), "fe80:0:0::");
  assert.equal(anonymizeIp("not-an-ip"), null);
});

it("ignoredAddresses: addresses and ranges of both families", () => {
  const ignored = ignoredAddresses(["10.0.0.0/8", "192.0.2.5", "2001:db8::/32"]);
  assert.equal(ignored("10.1.2.3"), true);
  assert.equal(ignored("::ffff:10.1.2.3"), true);
  assert.equal(ignored("192.0.2.5"), true);
  assert.equal(ignored("192.0.2.6"), false);
  assert.equal(ignored("2001:db8:1::9"), true);
  assert.equal(ignored("2001:db9::9"), false);
  assert.equal(ignoredAddresses([])("10.1.2.3"), false);
});

it("UserAgentClassifier: browser, OS, device class; bots; a missing UA counts as a bot", () => {
  const agents = new UserAgentClassifier();
  assert.deepEqual(
    agents.classify(
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    ),
    { browser: "Chrome", os: "Android", device: "mobile", bot: false },
  );
  assert.deepEqual(
    agents.classify(
      "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    ).device,
    "tablet",
  );
  assert.equal(agents.classify("curl/8.5.0").bot, true);
  assert.equal(agents.classify("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)").device, "bot");
  assert.deepEqual(agents.classify(undefined), { browser: null, os: null, device: "unknown", bot: true });
  assert.deepEqual(agents.classify(""), { browser: null, os: null, device: "unknown", bot: true });
});
