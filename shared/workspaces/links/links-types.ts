import { z } from 'zod';

/** What an operator or the console gives to create a click-to-chat link. */
export const linkInput = z.object({
  phone: z.string().min(4).max(64),
  text: z.string().max(400).default(''),
});

/** Link ids are base62; anything else is refused before a query is made. */
export const LINK_ID = /^[A-Za-z0-9]{8,32}$/;

export interface Link {
  id: string;
  workspaceId: string;
  waNumber: string; // the business's WhatsApp number, digits only (wa.me form)
  prefillText: string;
}

export interface LinkListItem {
  id: string;
  waNumber: string;
  prefillText: string;
  createdAt: Date;
}
