/**
 * What a BSP parser gets and gives back. Parsers are pure: no I/O, no keys,
 * no logging. What they return is already minimised: no message text, media,
 * names or group data leave a parser (a WAct ref code found in the text is
 * the only thing taken from it).
 */

// The provider names and their secrets belong to the workspace's settings (shared with the broker and the CLI).
export {
  isProviderName,
  PROVIDERS,
  type ProviderName,
  type ProviderSecret,
} from '../../shared/workspaces/bsp-credentials/bsp-credentials-types.ts';
import type { ProviderName, ProviderSecret } from '../../shared/workspaces/bsp-credentials/bsp-credentials-types.ts';

/** One HTTP delivery as received, before any parsing. */
export interface WebhookRequest {
  /** Exactly the bytes received: every signature is checked over these. */
  rawBody: Buffer;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The full public URL the BSP called (scheme, host, path, query), for URL-signing schemes. */
  url: string;
  /** Receive time (ms since epoch): Twilio sends no timestamp; Bird's tolerance is checked against it. */
  receivedAt: number;
}

export interface ClickReferral {
  ctwaClid?: string;
  sourceId?: string;
  sourceType?: string;
  sourceUrl?: string;
}

export type Sender = { kind: 'phone'; e164: string } | { kind: 'bsuid'; id: string };

/** One inbound user message, minimised. */
export interface InboundMessage {
  /** Provider message id (wamid, MessageSid, Bird id): hashed by the caller, used to deduplicate. */
  messageId: string;
  /** Normalised E.164 phone, or Meta's business-scoped user id when no phone is given. */
  sender: Sender;
  timestamp: Date;
  /** A WAct ref code found in the message text (the text itself is dropped). */
  refCode?: string;
  referral?: ClickReferral;
  /** Message type as the provider names it (text, image, audio…), kept for statistics only. */
  type: string;
}

export interface ParsedWebhook {
  messages: InboundMessage[];
  /** Events acknowledged and ignored: statuses, group messages, system and platform events. */
  ignored: number;
}

export interface ProviderAdapter {
  name: ProviderName;
  /** Body media type this provider posts. */
  contentType: 'application/json' | 'application/x-www-form-urlencoded';
  /** Throws UnauthorizedError when the request is not authentic. Constant-time comparisons only. */
  verify(req: WebhookRequest, secret: ProviderSecret): void;
  /** Throws BadRequestError on malformed input; never anything else. */
  parse(req: WebhookRequest): ParsedWebhook;
}
