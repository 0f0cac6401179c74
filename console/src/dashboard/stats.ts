/* eslint-disable @typescript-eslint/no-explicit-any -- loosely shaped broker JSON, read field by field with fallbacks */
/** The dashboard's figures as the broker's aggregate route returns them, made chart-ready. */
export interface DashboardStats {
  perDay: { day: string; conversations: number; attributed: number }[];
  byPlatform: { name: string; value: number }[];
  byProvider: { name: string; value: number }[];
  totals: { conversations: number; attributed: number; conversions: number };
}

type Json = Record<string, any>;

function pairs(list: unknown, key: string): { name: string; value: number }[] {
  if (Array.isArray(list))
    return list.map((r: Json) => ({
      name: String(r[key] ?? r.name ?? r.key ?? 'unknown'),
      value: Number(r.count ?? r.value ?? r.conversations ?? 0),
    }));
  if (list && typeof list === 'object') return Object.entries(list as Json).map(([name, value]) => ({ name, value: Number(value) }));
  return [];
}

export function normaliseStats(raw: unknown): DashboardStats {
  const j = (raw ?? {}) as Json;
  const perDay = (Array.isArray(j.perDay) ? j.perDay : Array.isArray(j.days) ? j.days : []).map((d: Json) => ({
    day: String(d.day ?? d.date ?? ''),
    conversations: Number(d.conversations ?? d.count ?? 0),
    attributed: Number(d.attributed ?? 0),
  }));
  const sum = (k: 'conversations' | 'attributed') => perDay.reduce((a: number, d: Json) => a + d[k], 0);
  const totals = j.totals ?? {};
  return {
    perDay,
    byPlatform: pairs(j.byPlatform ?? j.platforms, 'platform'),
    byProvider: pairs(j.byProvider ?? j.byBsp ?? j.providers, 'provider'),
    totals: {
      conversations: Number(totals.conversations ?? sum('conversations')),
      attributed: Number(totals.attributed ?? sum('attributed')),
      conversions: Number(totals.conversions ?? 0),
    },
  };
}

export function attributedShare(s: DashboardStats): number {
  return s.totals.conversations ? s.totals.attributed / s.totals.conversations : 0;
}

/** Day labels in the viewer's locale (the broker sends UTC dates). */
export function dayLabel(day: string): string {
  const d = new Date(day.length === 10 ? `${day}T00:00:00Z` : day);
  return Number.isNaN(d.getTime())
    ? day
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: day.length === 10 ? 'UTC' : undefined });
}
