import type { ProviderName } from '../providers/provider-types.ts';

/**
 * One inbound message ready to be written: hashed and encrypted already, so
 * nothing in it is plaintext personal data. Built in webhook-service.ts.
 */
export interface InboundRecord {
  workspaceId: string;
  provider: ProviderName;
  messageHash: string;
  senderHash: string;
  senderKind: 'phone' | 'bsuid';
  /** The sender's hash under the previous hashing-key version (after a rotation), to keep their conversation. */
  senderHashPrev?: string;
  startedAt: Date;
  refHash?: string;
  refHashPrev?: string;
  messageHashPrev?: string;
  /** From a Click-to-WhatsApp referral: becomes a 'ctwa' click when it starts a conversation. */
  referral?: {
    ctwaClidForClick?: Buffer;
    ctwaClidForConversation?: Buffer;
    ctwaPrefix?: string;
    sourceId?: string;
    sourceType?: string;
    sourceUrlEnc?: Buffer;
  };
  /** The minimised payload, encrypted (raw_webhook_payloads.payload_enc). */
  payloadEnc: Buffer;
}

export interface WriteOutcome {
  duplicate: boolean;
  conversationId?: string;
  newConversation: boolean;
}
