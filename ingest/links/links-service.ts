import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import type { Region } from '../../shared/config/config.ts';
import { BadRequestError, NotFoundError } from '../../shared/errors/errors.ts';
import { InvalidPhoneError, normalisePhone } from '../../shared/phone/phone.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const LINK_ID = /^[A-Za-z0-9]{8,32}$/;

export const linkInput = z.object({
  phone: z.string().min(4).max(64),
  text: z.string().max(400).default(''),
});

export interface Link {
  id: string;
  workspaceId: string;
  waNumber: string; // the business's WhatsApp number, digits only (wa.me form)
  prefillText: string;
}

export function mintLinkId(): string {
  let out = '';
  for (let i = 0; i < 10; i++) out += BASE62[randomInt(62)];
  return out;
}

/** Click-to-chat links of a workspace. `create` is an operator/console action, `get` serves redirects. */
export function createLinkService(deps: { poolFor: (region: Region) => pg.Pool }) {
  async function create(ws: { id: string; region: Region }, input: z.input<typeof linkInput>): Promise<Link> {
    const { phone, text } = linkInput.parse(input);
    let e164: string;
    try {
      e164 = normalisePhone(phone);
    } catch (err) {
      if (err instanceof InvalidPhoneError)
        throw new BadRequestError('the business WhatsApp number is not a valid phone number', 'invalid_phone');
      throw err;
    }
    const id = mintLinkId();
    await deps
      .poolFor(ws.region)
      .query('INSERT INTO wact.links (id, workspace_id, wa_number, prefill_text) VALUES ($1, $2, $3, $4)', [
        id,
        ws.id,
        e164.slice(1),
        text,
      ]);
    return { id, workspaceId: ws.id, waNumber: e164.slice(1), prefillText: text };
  }

  async function get(ws: { id: string; region: Region }, linkId: string): Promise<Link> {
    if (!LINK_ID.test(linkId)) throw new NotFoundError('unknown link', 'link_not_found');
    const { rows } = await deps
      .poolFor(ws.region)
      .query<{ id: string; wa_number: string; prefill_text: string }>(
        'SELECT id, wa_number, prefill_text FROM wact.links WHERE workspace_id = $1 AND id = $2 AND disabled_at IS NULL',
        [ws.id, linkId],
      );
    if (!rows[0]) throw new NotFoundError('unknown link', 'link_not_found');
    return { id: rows[0].id, workspaceId: ws.id, waNumber: rows[0].wa_number, prefillText: rows[0].prefill_text };
  }

  return { create, get };
}

export type LinkService = ReturnType<typeof createLinkService>;
