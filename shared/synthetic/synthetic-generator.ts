import { randomUUID } from 'node:crypto';

/**
 * Deterministic generator of plausible attribution data. Every phone number
 * comes from a range reserved for fiction (Ofcom's 07700 900xxx drama range,
 * the North American 555-0100..0199 range), so no synthetic row can ever point
 * at a real person, and data seeded from the same seed is the same.
 */

/** mulberry32: small, fast, good enough for test data (not for secrets). */
export function createRng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    weighted: <T>(items: readonly (readonly [T, number])[]): T => {
      const total = items.reduce((s, [, w]) => s + w, 0);
      let r = next() * total;
      for (const [v, w] of items) if ((r -= w) < 0) return v;
      return items[items.length - 1][0];
    },
    chance: (p: number) => next() < p,
    /** Five characters per draw (6 bits each) for alphabets of up to 64 characters: long ids are cheap. */
    token: (len: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') => {
      const out: string[] = [];
      const n = alphabet.length;
      while (out.length < len) {
        let bits = Math.floor(next() * 2 ** 30);
        for (let k = 0; k < 5 && out.length < len; k++, bits >>>= 6) out.push(alphabet[(bits & 63) % n]);
      }
      return out.join('');
    },
  };
}
export type Rng = ReturnType<typeof createRng>;

/** North American area codes whose 555-01xx numbers libphonenumber accepts. */
const NANP_AREAS = [
  '201',
  '202',
  '212',
  '213',
  '303',
  '305',
  '312',
  '404',
  '415',
  '480',
  '503',
  '512',
  '602',
  '617',
  '646',
  '702',
  '713',
  '718',
  '801',
  '919',
];

/** A fictional E.164 number: '+447700900xxx' or '+1<area>55501xx'. */
export function fictionalPhone(rng: Rng): string {
  if (rng.chance(0.4)) return `+447700900${String(rng.int(0, 999)).padStart(3, '0')}`;
  return `+1${rng.pick(NANP_AREAS)}55501${String(rng.int(0, 99)).padStart(2, '0')}`;
}

/** True for numbers from the fictional ranges above (the seeding test checks every number it makes). */
export function isFictionalPhone(e164: string): boolean {
  return /^\+447700900\d{3}$/.test(e164) || /^\+1\d{3}55501\d{2}$/.test(e164);
}

export type ClickKind = 'fbclid' | 'gclid' | 'msclkid' | 'ttclid' | 'li_fat_id' | 'ctwa_clid';
export const PLATFORM_OF: Record<ClickKind, 'meta' | 'google' | 'microsoft' | 'tiktok' | 'linkedin'> = {
  fbclid: 'meta',
  ctwa_clid: 'meta',
  gclid: 'google',
  msclkid: 'microsoft',
  ttclid: 'tiktok',
  li_fat_id: 'linkedin',
};

/** Click ids shaped like the platforms' (prefixes as observed in the wild), random otherwise. */
export function syntheticClickId(rng: Rng, kind: ClickKind): string {
  switch (kind) {
    case 'fbclid':
      return `IwAR${rng.token(56)}`;
    case 'ctwa_clid':
      return `Aff${rng.token(80)}`;
    case 'gclid':
      return `Cj0KCQ${rng.token(80)}`;
    case 'msclkid':
      return rng.token(32, '0123456789abcdef');
    case 'ttclid':
      return `E.C.P.${rng.token(60)}`;
    case 'li_fat_id': {
      const h = rng.token(32, '0123456789abcdef');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
  }
}

interface UtmMix {
  kind: ClickKind;
  source: string;
  medium: string;
}
const UTM_MIXES: readonly (readonly [UtmMix, number])[] = [
  [{ kind: 'fbclid', source: 'facebook', medium: 'paid_social' }, 30],
  [{ kind: 'ctwa_clid', source: 'facebook', medium: 'ctwa' }, 20],
  [{ kind: 'gclid', source: 'google', medium: 'cpc' }, 25],
  [{ kind: 'msclkid', source: 'bing', medium: 'cpc' }, 8],
  [{ kind: 'ttclid', source: 'tiktok', medium: 'paid_social' }, 10],
  [{ kind: 'li_fat_id', source: 'linkedin', medium: 'paid_social' }, 7],
];
const CAMPAIGNS = ['spring_sale', 'brand_search', 'retargeting_30d', 'new_collection', 'free_shipping', 'black_friday', 'lookalike_2pct'];
const CONTENTS = ['video_a', 'video_b', 'carousel', 'static_blue', 'static_red', 'ugc_testimonial'];
const TERMS = ['whatsapp shop', 'buy sneakers', 'running shoes', 'gift ideas', ''];
const PROVIDERS = [
  ['meta', 40],
  ['twilio', 25],
  ['360dialog', 15],
  ['bird', 10],
  ['gupshup', 10],
] as const;
const FUNNEL = [
  ['Lead', 0.35, null],
  ['AddToCart', 0.18, null],
  ['Purchase', 0.09, [19, 480]],
] as const;

export interface SyntheticClick {
  id: string;
  source: 'link' | 'snippet' | 'ctwa';
  kind: ClickKind;
  clickId: string;
  refCode: string | null;
  adSourceId: string | null;
  utm: { source: string; medium: string; campaign: string; term: string | null; content: string };
  createdAt: Date;
}

export interface SyntheticMessage {
  messageId: string;
  receivedAt: Date;
}

export interface SyntheticConversation {
  id: string;
  provider: string;
  /** The sender in clear lives only in memory; the seeder hashes it and drops it. */
  sender: { kind: 'phone'; e164: string } | { kind: 'bsuid'; id: string };
  startedAt: Date;
  click: SyntheticClick | null;
  messages: SyntheticMessage[];
  conversions: { id: string; event: string; value: number | null; currency: string | null; occurredAt: Date }[];
}

/**
 * One conversation with its click (most have one: the funnel starts at an
 * ad), its messages and the conversions it led to. `from`/`spanMs` place it in
 * time; the order of events within it is always click < start < messages < conversions.
 */
export function syntheticConversation(rng: Rng, from: Date, spanMs: number): SyntheticConversation {
  const startedAt = new Date(from.getTime() + Math.floor(rng.next() * spanMs));
  const attributed = rng.chance(0.8);
  let click: SyntheticClick | null = null;
  if (attributed) {
    const mix = rng.weighted(UTM_MIXES);
    const createdAt = new Date(startedAt.getTime() - rng.int(5_000, 3_600_000));
    click = {
      id: randomUUID(),
      source: mix.kind === 'ctwa_clid' ? 'ctwa' : rng.chance(0.7) ? 'link' : 'snippet',
      kind: mix.kind,
      clickId: syntheticClickId(rng, mix.kind),
      refCode: mix.kind === 'ctwa_clid' ? null : rng.token(8, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'),
      adSourceId: mix.kind === 'ctwa_clid' ? String(rng.int(10 ** 14, 10 ** 15 - 1)) : null,
      utm: {
        source: mix.source,
        medium: mix.medium,
        campaign: rng.pick(CAMPAIGNS),
        term: mix.medium === 'cpc' ? rng.pick(TERMS) || null : null,
        content: rng.pick(CONTENTS),
      },
      createdAt: createdAt < from ? from : createdAt,
    };
  }
  const sender = rng.chance(0.85)
    ? ({ kind: 'phone', e164: fictionalPhone(rng) } as const)
    : ({ kind: 'bsuid', id: `US.${rng.token(20, '0123456789')}` } as const);
  const messages: SyntheticMessage[] = [];
  const n = rng.weighted([
    [1, 50],
    [2, 30],
    [3, 20],
  ] as const);
  for (let i = 0; i < n; i++)
    messages.push({ messageId: `wamid.${rng.token(40)}`, receivedAt: new Date(startedAt.getTime() + i * rng.int(1_000, 600_000)) });
  const conversions: SyntheticConversation['conversions'] = [];
  let t = messages[messages.length - 1].receivedAt.getTime();
  for (const [event, p, range] of FUNNEL) {
    if (!rng.chance(p)) break; // a funnel: each step needs the one before
    t += rng.int(60_000, 86_400_000);
    conversions.push({
      id: randomUUID(),
      event,
      value: range ? rng.int(range[0], range[1]) : null,
      currency: range ? rng.pick(['EUR', 'USD', 'GBP']) : null,
      occurredAt: new Date(t),
    });
  }
  return { id: randomUUID(), provider: rng.weighted(PROVIDERS), sender, startedAt, click, messages, conversions };
}
