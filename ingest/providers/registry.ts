import { createBirdProvider } from './bird.ts';
import { gupshupProvider } from './gupshup.ts';
import { metaProvider } from './meta.ts';
import type { ProviderAdapter, ProviderName } from './provider-types.ts';
import { threeSixtyDialogProvider } from './three-sixty-dialog.ts';
import { twilioProvider } from './twilio.ts';

export function createProviderRegistry(opts: { birdToleranceMs?: number } = {}): Record<ProviderName, ProviderAdapter> {
  return {
    meta: metaProvider,
    twilio: twilioProvider,
    '360dialog': threeSixtyDialogProvider,
    bird: createBirdProvider(opts.birdToleranceMs),
    gupshup: gupshupProvider,
  };
}
