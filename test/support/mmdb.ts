/**
 * A tiny MaxMind DB writer for tests: an IPv4 country database for a few networks, in the real binary format
 * (search tree of 24-bit records, data section, metadata), so the GeoIP code is tested against the same reader
 * it uses in production. No real GeoLite2 file can be downloaded here.
 */

const str = (text: string) => {
  const bytes = Buffer.from(text);
  if (bytes.length >= 29) throw new Error("keep test strings short");
  return Buffer.concat([Buffer.from([(2 << 5) | bytes.length]), bytes]);
};
const map = (entries: [string, Buffer][]) =>
  Buffer.concat([Buffer.from([(7 << 5) | entries.length]), ...entries.flatMap(([k, v]) => [str(k), v])]);
const uint16 = (n: number) => Buffer.from([(5 << 5) | 2, n >> 8, n & 255]);
const uint32 = (n: number) => {
  const b = Buffer.alloc(5);
  b[0] = (6 << 5) | 4;
  b.writeUInt32BE(n, 1);
  return b;
};
/** Extended types: the control byte carries the size, the next byte the type minus 7. */
const uint64 = (n: number) => {
  const b = Buffer.alloc(10);
  b[0] = 8;
  b[1] = 9 - 7;
  b.writeBigUInt64BE(BigInt(n), 2);
  return b;
};
const array = (items: Buffer[]) => Buffer.concat([Buffer.from([items.length, 11 - 7]), ...items]);

type RecordValue = number | { data: number } | null;

/**
 * `networks`: IPv4 CIDRs (not nested in each other), the ISO country code each is in and, for a city database,
 * its city. `shape`: MaxMind's record (`{country: {iso_code}, city: {names: {en}}}`, GeoLite2) or the flat one of
 * the ip-location-db files (`{country_code, city}`).
 */
export function countryDatabase(
  networks: readonly { cidr: string; country: string; city?: string }[],
  shape: "maxmind" | "flat" = "maxmind",
): Buffer {
  const nodes: [RecordValue, RecordValue][] = [[null, null]];
  const data: Buffer[] = [];
  let dataLength = 0;
  const offsets = new Map<string, number>();
  for (const { cidr, country, city } of networks) {
    const [ip, bits] = cidr.split("/") as [string, string];
    const prefix = Number(bits);
    const address = ip.split(".").reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
    const key = `${country}/${city ?? ""}`;
    let offset = offsets.get(key);
    if (offset === undefined) {
      const record =
        shape === "flat"
          ? map([["country_code", str(country)], ...(city ? [["city", str(city)] as [string, Buffer]] : [])])
          : map([
              ["country", map([["iso_code", str(country)]])],
              ...(city ? [["city", map([["names", map([["en", str(city)]])]])] as [string, Buffer]] : []),
            ]);
      offset = dataLength;
      data.push(record);
      dataLength += record.length;
      offsets.set(key, offset);
    }
    let node = 0;
    for (let i = 0; i < prefix; i++) {
      const bit = (address >>> (31 - i)) & 1;
      if (i === prefix - 1) {
        nodes[node]![bit] = { data: offset };
        break;
      }
      let next = nodes[node]![bit];
      if (typeof next !== "number") {
        nodes.push([null, null]);
        next = nodes.length - 1;
        nodes[node]![bit] = next;
      }
      node = next;
    }
  }
  const count = nodes.length;
  const value = (r: RecordValue) => (r === null ? count : typeof r === "number" ? r : count + 16 + r.data);
  const tree = Buffer.alloc(count * 6);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(value(left), i * 6, 3);
    tree.writeUIntBE(value(right), i * 6 + 3, 3);
  });
  const metadata = map([
    ["node_count", uint32(count)],
    ["record_size", uint16(24)],
    ["ip_version", uint16(4)],
    ["database_type", str("jmp-test-Country")],
    ["languages", array([str("en")])],
    ["binary_format_major_version", uint16(2)],
    ["binary_format_minor_version", uint16(0)],
    ["build_epoch", uint64(Math.floor(Date.now() / 1000))],
    ["description", map([["en", str("jmp test")]])],
  ]);
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...data,
    Buffer.from("abcdef4d61784d696e642e636f6d", "hex"),
    metadata,
  ]);
}
