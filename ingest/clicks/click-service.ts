import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Region } from '../../shared/config/config.ts';
import { encryptField, fieldContext } from '../../shared/crypto/field-cipher.ts';
import type { Keyring } from '../../shared/crypto/keyring-types.ts';
import { BadRequestError } from '../../shared/errors/errors.ts';
import { hashIdentifier } from '../../shared/phone/phone.ts';
import { mintRefCode } from '../attribution/ref-code.ts';
import { CLICK_ID_KINDS, UTM_KEYS, type ClickParams } from './click-types.ts';

const CLICK_ID = /^[\x21-\x7e]{1,512}$/; // printable ASCII, no spaces: what ad platforms put in URLs
const UTM_MAX = 200;

/**
 * Picks the known parameters out of a query (anything else is dropped,
 * unread) and checks their shape. A malformed click id is a 400: storing a
 * mangled id would only make a later export fail silently.
 */
export function clickParamsFrom(query: Record<string, unknown>): ClickParams {
  const out: ClickParams = {};
  for (const k of CLICK_ID_KINDS) {
    const v = first(query[k]);
    if (v === undefined || v === '') continue;
    if (!CLICK_ID.test(v)) throw new BadRequestError(`${k} is malformed`, 'invalid_click_id');
    out[k] = v;
  }
  for (const k of UTM_KEYS) {
    const v = first(query[k]);
    if (v === undefined || v === '') continue;
    out[k] = v.slice(0, UTM_MAX);
  }
  return out;
}

function first(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

export interface CapturedClick {
  id: string;
  refCode: string;
  createdAt: Date;
}

/** Records a click: ref code minted (stored as a keyed hash), click ids encrypted, utm_* kept. */
export function createClickService(deps: { poolFor: (region: Region) => pg.Pool; keyring: Pick<Keyring, 'currentKey'> }) {
  async function capture(
    ws: { id: string; region: Region },
    input: { source: 'link' | 'snippet'; linkId?: string; params: ClickParams },
  ): Promise<CapturedClick> {
    const [hmacKey, dek] = await Promise.all([
      deps.keyring.currentKey(ws.id, ws.region, 'hmac'),
      deps.keyring.currentKey(ws.id, ws.region, 'dek'),
    ]);
    const refCode = mintRefCode();
    const id = randomUUID();
    const enc = (kind: string) => {
      const v = input.params[kind as keyof ClickParams];
      return v ? encryptField(dek, fieldContext(ws.id, 'clicks', `${kind}_enc`), v) : null;
    };
    const prefixes: Record<string, string> = {};
    for (const k of CLICK_ID_KINDS) {
      const v = input.params[k];
      if (v && v.length >= 8) prefixes[k] = v.slice(0, 4);
    }
    const { rows } = await deps.poolFor(ws.region).query<{ created_at: Date }>(
      `INSERT INTO wact.clicks (id, workspace_id, source, link_id, ref_hash, fbclid_enc, gclid_enc, gbraid_enc, wbraid_enc, msclkid_enc,
                                ttclid_enc, li_fat_id_enc, click_id_prefixes, utm_source, utm_medium, utm_campaign, utm_term, utm_content, utm_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
       RETURNING created_at`,
      [
        id,
        ws.id,
        input.source,
        input.linkId ?? null,
        hashIdentifier(hmacKey.key, 'ref', refCode),
        ...CLICK_ID_KINDS.map(enc),
        JSON.stringify(prefixes),
        ...UTM_KEYS.map((k) => input.params[k] ?? null),
      ],
    );
    return { id, refCode, createdAt: rows[0].created_at };
  }

  return { capture };
}

export type ClickService = ReturnType<typeof createClickService>;
