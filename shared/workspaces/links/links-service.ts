import { randomInt } from 'node:crypto';
import type pg from 'pg';
import type { z } from 'zod';
import type { Region } from '../../config/config.ts';
import { BadRequestError, NotFoundError } from '../../errors/errors.ts';
import { InvalidPhoneError, normalisePhone } from '../../phone/phone.ts';
import { createLinksDal } from './links-dal.ts';
import type { Page, PageRequest } from '../page-types.ts';
import { LINK_ID, linkInput, type Link, type LinkListItem } from './links-types.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function mintLinkId(): string {
  let out = '';
  for (let i = 0; i < 10; i++) out += BASE62[randomInt(62)];
  return out;
}

/**
 * Click-to-chat links of a workspace. `create` is an operator/console action
 * (CLI, broker), `get` serves ingest's redirects.
 */
export function createLinkService(deps: { poolFor: (region: Region) => pg.Pool }) {
  const dal = (region: Region) => createLinksDal(deps.poolFor(region));

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
    const link: Link = { id: mintLinkId(), workspaceId: ws.id, waNumber: e164.slice(1), prefillText: text };
    await dal(ws.region).insert(link);
    return link;
  }

  async function get(ws: { id: string; region: Region }, linkId: string): Promise<Link> {
    if (!LINK_ID.test(linkId)) throw new NotFoundError('unknown link', 'link_not_found');
    const row = await dal(ws.region).findEnabled(ws.id, linkId);
    if (!row) throw new NotFoundError('unknown link', 'link_not_found');
    return { id: row.id, workspaceId: ws.id, waNumber: row.wa_number, prefillText: row.prefill_text };
  }

  function list(ws: { id: string; region: Region }, page: PageRequest<'id' | 'createdAt'>): Promise<Page<LinkListItem>> {
    return dal(ws.region).page(ws.id, page);
  }

  /** Disables a link (its redirects stop); NotFoundError for an unknown or already disabled one. */
  async function disable(ws: { id: string; region: Region }, linkId: string): Promise<void> {
    if (!(await dal(ws.region).disable(ws.id, linkId))) throw new NotFoundError('unknown link', 'link_not_found');
  }

  return { create, get, list, disable };
}

export type LinkService = ReturnType<typeof createLinkService>;
