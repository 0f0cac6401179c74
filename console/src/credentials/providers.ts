/**
 * What each BSP needs from the customer to authenticate its webhooks, and which ad
 * platforms take conversions. Field names are what the broker's credentials route expects.
 */
export interface SecretField {
  name: string;
  label: string;
  help: string;
  optional?: boolean;
}

export interface BspInfo {
  id: 'meta' | 'twilio' | '360dialog' | 'bird' | 'gupshup';
  name: string;
  fields: SecretField[];
  /** Where the customer pastes the webhook URL on the provider's side. */
  where: string;
}

export const BSPS: BspInfo[] = [
  {
    id: 'meta',
    name: 'Meta WhatsApp Cloud API',
    where: 'Meta App Dashboard → WhatsApp → Configuration → Webhook: callback URL and verify token; subscribe to “messages”.',
    fields: [
      { name: 'secret', label: 'App secret', help: 'App Dashboard → App settings → Basic → App secret (signs X-Hub-Signature-256).' },
      {
        name: 'verifyToken',
        label: 'Verify token',
        help: 'Any random string of 8+ characters; paste the same value into Meta’s webhook form.',
      },
    ],
  },
  {
    id: 'twilio',
    name: 'Twilio',
    where: 'Twilio Console → Messaging → WhatsApp senders → your sender → “A message comes in” webhook (HTTP POST).',
    fields: [{ name: 'secret', label: 'Auth token', help: 'Twilio Console → Account info → Auth Token (signs X-Twilio-Signature).' }],
  },
  {
    id: '360dialog',
    name: '360dialog',
    where: '360dialog Hub → your number → Webhook URL.',
    fields: [{ name: 'secret', label: 'Webhook signing secret', help: 'The secret 360dialog uses for x-360dialog-signature.' }],
  },
  {
    id: 'bird',
    name: 'Bird (MessageBird)',
    where: 'Bird → Developer → Webhooks → new webhook for WhatsApp inbound messages.',
    fields: [{ name: 'secret', label: 'Signing key', help: 'The webhook signing key (messagebird-signature).' }],
  },
  {
    id: 'gupshup',
    name: 'Gupshup',
    where: 'Gupshup → your app → Webhooks → callback URL, with the custom header x-wact-token.',
    fields: [
      {
        name: 'secret',
        label: 'Token for the x-wact-token header',
        help: 'Gupshup signs nothing: choose a long random token and add it as the x-wact-token header.',
      },
    ],
  },
];

/** Field names as the stored credentials are validated (shared/workspaces/platform-credentials/platform-credentials-types.ts). */
export const AD_PLATFORMS = [
  {
    id: 'meta',
    name: 'Meta Conversions API',
    fields: [
      { name: 'accessToken', label: 'Access token' },
      { name: 'datasetId', label: 'Dataset (pixel) id', help: 'Digits only' },
      { name: 'wabaId', label: 'WhatsApp Business Account id', optional: true },
    ],
  },
  {
    id: 'google',
    name: 'Google Ads offline click conversions',
    fields: [
      { name: 'accessToken', label: 'OAuth access token' },
      { name: 'developerToken', label: 'Developer token' },
      { name: 'customerId', label: 'Customer id', help: '10 digits, no dashes' },
      { name: 'conversionActionId', label: 'Conversion action id' },
      { name: 'loginCustomerId', label: 'Manager (login) customer id', optional: true },
    ],
  },
  {
    id: 'microsoft',
    name: 'Microsoft Advertising offline conversions',
    fields: [
      { name: 'accessToken', label: 'Access token' },
      { name: 'developerToken', label: 'Developer token' },
      { name: 'customerId', label: 'Customer id' },
      { name: 'customerAccountId', label: 'Account id' },
      { name: 'conversionName', label: 'Offline conversion goal name' },
    ],
  },
  {
    id: 'tiktok',
    name: 'TikTok Events API',
    fields: [
      { name: 'accessToken', label: 'Access token' },
      { name: 'eventSourceId', label: 'Event source (pixel) id' },
    ],
  },
  {
    id: 'linkedin',
    name: 'LinkedIn Conversions API',
    fields: [
      { name: 'accessToken', label: 'Access token' },
      { name: 'conversionRuleId', label: 'Conversion rule id' },
    ],
  },
] as const;

export function webhookUrl(ingestBase: string, provider: string, workspaceId: string): string {
  return `${ingestBase.replace(/\/$/, '')}/v1/webhooks/${provider}/${workspaceId}`;
}
