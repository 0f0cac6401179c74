import dns from 'node:dns';
import net from 'node:net';
import type { Readable } from 'node:stream';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, request } from 'undici';
import { ConfigError } from '../errors/errors.ts';

/**
 * The one HTTP client for requests to destinations a customer supplies (SIEM
 * push, and any future customer webhook). See docs/outbound.md.
 *
 * Why it is built this way:
 *  - The address is checked when the socket is opened, on the address actually
 *    dialled: the DNS answer is checked inside the connector's `lookup` (every
 *    address of the answer must pass, so a rebinding answer "public, then
 *    loopback" is refused whole), IP literals are checked before dialling (Node
 *    does not call `lookup` for them), and the connected socket's remote address
 *    is checked again before a byte is written. A check at configuration time
 *    only is worthless: the name can resolve elsewhere a second later.
 *  - Addresses are classified by ipaddr.js (maintained, knows the special
 *    ranges) and only plain global unicast passes: no loopback, private,
 *    link-local, unique-local, CGNAT, benchmark, documentation, reserved,
 *    multicast, broadcast or unspecified address, none of those hidden in an
 *    IPv4-mapped address, and no NAT64 / 6to4 / Teredo / IPv4-compatible form at
 *    all (they embed an IPv4 address a router may translate to anything).
 *  - Redirects are never followed (undici's `request` does not follow them):
 *    a 3xx from a public host must not become a request to an internal one.
 *  - Failures reach the customer as a category (timeout, connection failed, TLS,
 *    HTTP status, not allowed), never as socket error text: error codes such as
 *    ECONNREFUSED vs. EHOSTUNREACH would turn the push into a port scanner.
 *
 * Development and tests may allow explicit addresses (e.g. a local SIEM on
 * 127.0.0.1) with WACT_OUTBOUND_DEV_ALLOW; production refuses to start with it.
 */

/** Known cloud metadata / platform addresses, refused by name even where a range would not catch them. */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OpenStack instance metadata
  '169.254.170.2', // AWS ECS task metadata
  'fd00:ec2::254', // AWS IMDS over IPv6
  '100.100.100.200', // Alibaba Cloud metadata
  '168.63.129.16', // Azure WireServer: a public address that only talks to Azure hosts
]);

/** The only IPv6 block that holds global unicast addresses today (RFC 4291 §2.4, IANA). */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Is `ip` (an IP literal, no brackets) a public destination? Anything unparsable is refused. */
export function classifyAddress(ip: string): AddressVerdict {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // ipaddr.parse accepts legacy IPv4 forms (octal, hex, short); we only ever
    // see what the URL parser or DNS produced, but refusing nothing here would be wrong.
    addr = ipaddr.parse(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return { allowed: false, reason: 'not an IP address' };
  }
  if (METADATA_ADDRESSES.has(addr.toNormalizedString()) || METADATA_ADDRESSES.has(addr.toString())) {
    return { allowed: false, reason: 'cloud metadata address' };
  }
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    const range = v6.range();
    if (range === 'ipv4Mapped') return classifyAddress(v6.toIPv4Address().toString());
    if (range === 'rfc6052' || range === '6to4' || range === 'teredo' || range === 'rfc6145')
      return { allowed: false, reason: `translated IPv6 form (${range})` };
    if (range !== 'unicast') return { allowed: false, reason: range };
    if (!v6.match(GLOBAL_UNICAST_V6)) return { allowed: false, reason: 'outside global unicast (2000::/3)' };
    return { allowed: true };
  }
  const range = (addr as ipaddr.IPv4).range();
  if (range !== 'unicast') return { allowed: false, reason: range };
  return { allowed: true };
}

/** A development allow-list entry: an address or a CIDR. */
function parseAllowEntry(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const e = entry.trim();
  if (e.includes('/')) return ipaddr.parseCIDR(e);
  const a = ipaddr.parse(e);
  return [a, a.kind() === 'ipv4' ? 32 : 128];
}

export interface OutboundPolicy {
  /** Addresses or CIDRs allowed although not public. Development and tests only. */
  devAllow?: string[];
  /** 'production' refuses any devAllow entry. */
  env: string;
}

export function createAddressPolicy(policy: OutboundPolicy): (ip: string) => AddressVerdict {
  const allow = (policy.devAllow ?? []).filter((s) => s.trim() !== '');
  if (allow.length && policy.env === 'production') {
    throw new ConfigError('refusing to start: WACT_OUTBOUND_DEV_ALLOW is for development and tests only');
  }
  let ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  try {
    ranges = allow.map(parseAllowEntry);
  } catch {
    throw new ConfigError('WACT_OUTBOUND_DEV_ALLOW must list IP addresses or CIDRs, comma-separated');
  }
  return (ip: string) => {
    const verdict = classifyAddress(ip);
    if (verdict.allowed || ranges.length === 0) return verdict;
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      a = ipaddr.process(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '')); // ::ffff:a.b.c.d → a.b.c.d
    } catch {
      return verdict;
    }
    return ranges.some(([r, bits]) => r.kind() === a.kind() && a.match(r, bits)) ? { allowed: true } : verdict;
  };
}

/** What the customer may see about a failed request. */
export type OutboundCategory =
  | 'ok'
  | 'not_allowed' // the destination is not a public address (or not https)
  | 'timeout'
  | 'connection_failed' // DNS, refused, reset, unreachable: deliberately one category
  | 'tls_failed'
  | 'redirect_not_followed'
  | 'http_status';

export interface OutboundResult {
  ok: boolean;
  category: OutboundCategory;
  status: number | null;
}

/** One line for a customer-visible "last error" field. Never contains socket error text. */
export function describeOutbound(r: OutboundResult): string {
  switch (r.category) {
    case 'ok':
      return 'ok';
    case 'http_status':
      return `HTTP ${r.status}`;
    case 'redirect_not_followed':
      return `HTTP ${r.status} (redirects are not followed)`;
    case 'not_allowed':
      return 'destination not allowed (not a public https address)';
    case 'timeout':
      return 'timed out';
    case 'tls_failed':
      return 'TLS handshake or certificate verification failed';
    case 'connection_failed':
      return 'connection failed';
  }
}

/** Raised inside the connector when the policy refuses an address; recognised by `categorise`. */
export class DestinationNotAllowedError extends Error {
  readonly code = 'WACT_DESTINATION_NOT_ALLOWED';
  constructor(readonly reason: string) {
    super(`destination not allowed: ${reason}`);
    this.name = 'DestinationNotAllowedError';
  }
}

type LookupAll = (hostname: string, cb: (err: Error | null, addresses: dns.LookupAddress[]) => void) => void;

const systemLookup: LookupAll = (hostname, cb) => dns.lookup(hostname, { all: true, verbatim: true }, cb);

export interface OutboundClientOptions extends OutboundPolicy {
  /** CA list for TLS: build it with outboundCaList (system roots plus the extra CA). Unset: Node's defaults. */
  ca?: string[];
  timeoutMs?: number;
  /** Plain http:// destinations (tests only; production always refuses them). */
  allowHttp?: boolean;
  /** DNS resolver (tests: a stub). Must answer every address of the name. */
  lookup?: LookupAll;
}

export interface OutboundRequest {
  method?: 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
}

export function createOutboundClient(opts: OutboundClientOptions) {
  const check = createAddressPolicy(opts);
  const resolve = opts.lookup ?? systemLookup;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const allowHttp = !!opts.allowHttp && opts.env !== 'production';

  // net/tls call this for host names (never for IP literals). With autoSelectFamily
  // (Node 20's default) they ask for every address; otherwise for one.
  const checkedLookup = (
    hostname: string,
    options: dns.LookupOptions,
    cb: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void,
  ): void => {
    resolve(hostname, (err, addresses) => {
      if (err) return cb(err, '');
      if (!addresses.length) return cb(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
      for (const a of addresses) {
        const v = check(a.address);
        if (!v.allowed) return cb(new DestinationNotAllowedError(v.reason), '');
      }
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      if (!wanted.length) return cb(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
      if (options.all) return cb(null, wanted);
      return cb(null, wanted[0].address, wanted[0].family);
    });
  };

  const base = buildConnector({
    ...(opts.ca ? { ca: opts.ca } : {}),
    minVersion: 'TLSv1.2',
    timeout: timeoutMs,
    lookup: checkedLookup,
  } as buildConnector.BuildOptions);

  const connect: buildConnector.connector = (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host)) {
      const v = check(host);
      if (!v.allowed) return callback(new DestinationNotAllowedError(v.reason), null);
    }
    base(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null);
      // Belt and braces: the peer we are actually connected to.
      const remote = socket.remoteAddress;
      const v = remote ? check(remote) : ({ allowed: false, reason: 'no remote address' } as const);
      if (!v.allowed) {
        socket.destroy();
        return callback(new DestinationNotAllowedError(v.reason), null);
      }
      return callback(null, socket);
    });
  };

  const dispatcher = new Agent({ connect, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connections: 8 });

  /** Checks a destination URL's form (not its address: that is checked at connect time). */
  function checkUrl(raw: string): URL | null {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return null;
    }
    if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) return null;
    if (url.username || url.password) return null;
    return url;
  }

  /**
   * Early feedback when a destination is configured: its form, and the addresses
   * its name resolves to now. Not a security check on its own (the name may
   * resolve elsewhere later): `send` checks again when it connects.
   */
  async function precheck(raw: string): Promise<AddressVerdict> {
    const url = checkUrl(raw);
    if (!url)
      return { allowed: false, reason: allowHttp ? 'not an http(s) URL without credentials' : 'not an https URL without credentials' };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host)) return check(host);
    const addresses = await new Promise<dns.LookupAddress[]>((r) => resolve(host, (err, a) => r(err ? [] : a)));
    if (!addresses.length) return { allowed: false, reason: 'the host does not resolve' };
    for (const a of addresses) {
      const v = check(a.address);
      if (!v.allowed) return v;
    }
    return { allowed: true };
  }

  /** Sends one request. Never throws: the result is a category the customer may see. */
  async function send(raw: string, req: OutboundRequest = {}): Promise<OutboundResult> {
    const url = checkUrl(raw);
    if (!url) {
      if (req.body && typeof req.body === 'object' && 'destroy' in req.body) (req.body as Readable).destroy();
      return { ok: false, category: 'not_allowed', status: null };
    }
    try {
      const res = await request(url, {
        method: req.method ?? 'POST',
        headers: req.headers,
        body: req.body,
        dispatcher,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The body is never read into memory or shown: a destination could echo anything.
      await res.body.dump().catch(() => undefined);
      const s = res.statusCode;
      if (s >= 200 && s < 300) return { ok: true, category: 'ok', status: s };
      if (s >= 300 && s < 400) return { ok: false, category: 'redirect_not_followed', status: s };
      return { ok: false, category: 'http_status', status: s };
    } catch (err) {
      return { ok: false, category: categorise(err), status: null };
    }
  }

  return { send, precheck, checkUrl, checkAddress: check, dispatcher, close: () => dispatcher.close() };
}

export type OutboundClient = ReturnType<typeof createOutboundClient>;

/** Maps any error of the request to a category; unknown errors count as connection failures. */
export function categorise(err: unknown): Exclude<OutboundCategory, 'ok' | 'http_status' | 'redirect_not_followed'> {
  const seen = new Set<unknown>();
  let e = err as { name?: string; code?: string; cause?: unknown; message?: string } | undefined;
  let category: ReturnType<typeof categorise> = 'connection_failed';
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (e instanceof DestinationNotAllowedError || e.code === 'WACT_DESTINATION_NOT_ALLOWED') return 'not_allowed';
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT/.test(e.code ?? '')) category = 'timeout';
    else if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH|ERR_OSSL)/.test(e.code ?? ''))
      return 'tls_failed';
    e = e.cause as typeof e;
  }
  return category;
}
