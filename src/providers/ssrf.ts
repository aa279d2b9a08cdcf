/**
 * Address guard for outbound HTTP. Jobs build URLs from record data and templates, so a job must not
 * be able to make the worker reach its own network (cloud metadata, databases, admin ports) unless the
 * operator listed the host or range in `[http] allow`.
 *
 * Everything here is pure except `resolveAllowedAddress`, which calls the injected DNS lookup. The HTTP
 * provider calls it from its socket connector, so the address checked is the address connected to.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { PermanentError } from '../errors';

export interface ResolvedAddress {
  address: string;
  /** 4 or 6 */
  family: number;
}

/** Resolves a host name to every address it has. Tests inject a stub; the default asks the system resolver. */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: LookupFn = async (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export class SsrfRefusedError extends PermanentError {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly addressClass: string,
  ) {
    const shown = host === address ? host : `${host} (${address})`;
    super(
      `refused to connect to ${shown}: ${addressClass} address; list the host or a CIDR containing it in [http] allow to permit it`,
      'ssrf_refused',
    );
    this.name = 'SsrfRefusedError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Parsing. Addresses become bigints so that one range table serves both families.

interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

/**
 * IPv4 in every form inet_aton accepts (1 to 4 parts, each decimal, 0-octal or 0x-hex), because some
 * resolvers and libraries accept `0177.1` as 127.0.0.1; a guard that only knows dotted quads is
 * bypassed by them.
 */
function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: bigint[] = [];
  for (const part of parts) {
    let n: bigint;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0n : BigInt(part);
    else if (/^0[0-7]+$/.test(part)) n = BigInt('0o' + part.slice(1));
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = BigInt(part);
    else return null;
    nums.push(n);
  }
  const last = nums[nums.length - 1];
  const head = nums.slice(0, -1);
  if (head.some((n) => n > 255n)) return null;
  const lastBits = BigInt(8 * (5 - nums.length));
  if (last >= 1n << lastBits) return null;
  let value = 0n;
  head.forEach((n, i) => {
    value |= n << BigInt(24 - 8 * i);
  });
  return value | last;
}

function parseIPv6(text: string): bigint | null {
  if (isIP(text) !== 6) return null;
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = head.lastIndexOf(':');
  const maybeV4 = head.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    tailV4 = parseIPv4(maybeV4);
    if (tailV4 === null) return null;
    head = head.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  const toGroups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = toGroups(halves[0]);
  const right = halves.length > 1 ? toGroups(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(halves.length > 1 ? missing : 0).fill('0'), ...right];
  if (groups.length !== 8) return null;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt('0x' + (g || '0'));
  if (tailV4 !== null) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function parseIp(text: string): ParsedIp | null {
  // A zone id (fe80::1%eth0) names an interface, not a different address.
  const bare = stripBrackets(text.trim()).replace(/%.*$/, '');
  if (bare.includes(':')) {
    const v6 = parseIPv6(bare);
    return v6 === null ? null : { family: 6, value: v6 };
  }
  const v4 = parseIPv4(bare);
  return v4 === null ? null : { family: 4, value: v4 };
}

// ---------------------------------------------------------------------------------------------------
// Ranges that are not the public internet (RFC 6890 and successors).

interface Range {
  family: 4 | 6;
  base: bigint;
  bits: number;
  name: string;
}

function range(cidr: string, name: string): Range {
  const [addr, bits] = cidr.split('/');
  const parsed = parseIp(addr);
  if (!parsed) throw new Error(`bad built-in range ${cidr}`);
  return { family: parsed.family, base: parsed.value, bits: Number(bits), name };
}

function contains(r: { family: 4 | 6; base: bigint; bits: number }, ip: ParsedIp): boolean {
  if (r.family !== ip.family) return false;
  const width = ip.family === 4 ? 32 : 128;
  const shift = BigInt(width - r.bits);
  return ip.value >> shift === r.base >> shift;
}

// Most specific first: the first match names the class.
const V4_RANGES: Range[] = [
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'cgnat'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'ietf-protocol'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', 'reserved'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'benchmarking'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('255.255.255.255/32', 'broadcast'),
  range('240.0.0.0/4', 'reserved'),
];

const V6_RANGES: Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('::ffff:0:0/96', 'ipv4-mapped'),
  range('::/96', 'ipv4-compatible'),
  range('64:ff9b::/96', 'nat64'),
  range('64:ff9b:1::/48', 'nat64'),
  range('100::/64', 'discard'),
  range('2001::/32', 'teredo'),
  range('2001:db8::/32', 'documentation'),
  range('2001::/23', 'ietf-protocol'),
  range('2002::/16', '6to4'),
  range('3fff::/20', 'documentation'),
  range('fc00::/7', 'unique-local'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local'),
  range('ff00::/8', 'multicast'),
];

const EMBEDS_V4 = [range('::ffff:0:0/96', ''), range('::/96', ''), range('64:ff9b::/96', '')];

/** The IPv4 address carried in the low 32 bits, for the IPv6 forms that embed one. */
function embeddedV4(ip: ParsedIp): ParsedIp | null {
  // :: and ::1 sit inside ::/96 but are addresses of their own, not carriers of 0.0.0.0 and 0.0.0.1.
  if (ip.family !== 6 || ip.value <= 1n || !EMBEDS_V4.some((r) => contains(r, ip))) return null;
  return { family: 4, value: ip.value & 0xffffffffn };
}

/**
 * The class of a non-public address ('loopback', 'private', 'link-local', 'cgnat', 'unique-local',
 * 'multicast', 'unspecified', 'ipv4-mapped', …), or null when the address is public.
 * Text that is not an address at all is 'invalid', so a caller can never mistake garbage for public.
 */
export function classifyAddress(ip: string): string | null {
  const parsed = parseIp(ip);
  if (!parsed) return 'invalid';
  const table = parsed.family === 4 ? V4_RANGES : V6_RANGES;
  const hit = table.find((r) => contains(r, parsed));
  if (!hit) return null;
  // ::ffff:127.0.0.1 reaches 127.0.0.1: name the class of what is really reached.
  const inner = embeddedV4(parsed);
  if (inner) {
    const innerHit = V4_RANGES.find((r) => contains(r, inner));
    if (innerHit) return `${innerHit.name} (${hit.name})`;
  }
  return hit.name;
}

function normaliseHostName(host: string): string {
  return stripBrackets(host.trim().toLowerCase()).replace(/\.$/, '');
}

function parseCidr(entry: string): { family: 4 | 6; base: bigint; bits: number } | null {
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  // Only canonical spellings count as addresses in the allow list; anything else is a host name.
  if (isIP(stripBrackets(addr)) === 0) return null;
  const parsed = parseIp(addr);
  if (!parsed) return null;
  const width = parsed.family === 4 ? 32 : 128;
  const bits = slash < 0 ? width : Number(entry.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return null;
  return { family: parsed.family, base: parsed.value, bits };
}

/**
 * Whether `[http] allow` permits reaching `ip` for a request to `host`: the host name is listed
 * (case-insensitive, trailing dot ignored) or a listed address/CIDR contains the address. An
 * IPv4-mapped IPv6 address also matches the IPv4 CIDRs of the address it carries.
 */
export function isAllowed(host: string, ip: string, allow: readonly string[]): boolean {
  const wantHost = normaliseHostName(host);
  const parsed = parseIp(ip);
  const candidates: ParsedIp[] = [];
  if (parsed) {
    candidates.push(parsed);
    const inner = embeddedV4(parsed);
    if (inner) candidates.push(inner);
  }
  for (const raw of allow) {
    const entry = raw.trim();
    if (!entry) continue;
    const cidr = parseCidr(entry);
    if (cidr) {
      if (candidates.some((c) => contains(cidr, c))) return true;
    } else if (normaliseHostName(entry) === wantHost) {
      return true;
    }
  }
  return false;
}

/** Throws SsrfRefusedError when `ip` is not public and not allowed for `host`. */
export function assertAddressAllowed(host: string, ip: string, allow: readonly string[]): void {
  const cls = classifyAddress(ip);
  if (cls !== null && !isAllowed(host, ip, allow)) throw new SsrfRefusedError(normaliseHostName(host), ip, cls);
}

/** Whether a URL host (as WHATWG URL normalises it) is an IP literal rather than a name to resolve. */
export function isIpLiteral(host: string): boolean {
  return isIP(stripBrackets(host)) !== 0;
}

/**
 * The address to connect to for `host`: every address the name resolves to must pass, not just the
 * first, so that an answer mixing a public and a private address cannot slip through.
 */
export async function resolveAllowedAddress(host: string, allow: readonly string[], lookup: LookupFn): Promise<ResolvedAddress> {
  const bare = stripBrackets(host);
  const family = isIP(bare);
  if (family !== 0) {
    assertAddressAllowed(bare, bare, allow);
    return { address: bare, family };
  }
  const addresses = await lookup(bare);
  if (addresses.length === 0) {
    throw Object.assign(new Error(`DNS lookup of ${bare} returned no addresses`), { code: 'ENOTFOUND' });
  }
  for (const a of addresses) assertAddressAllowed(bare, a.address, allow);
  return addresses[0];
}
