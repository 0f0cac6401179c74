import { buildGoogleRequest } from './google-payload.ts';
import { buildLinkedinRequest } from './linkedin-payload.ts';
import { buildMetaRequest } from './meta-payload.ts';
import { buildMicrosoftRequest } from './microsoft-payload.ts';
import { buildTiktokRequest } from './tiktok-payload.ts';
import { platformCredentialSchemas, type AdPlatform } from '../workspaces/platform-credentials/platform-credentials-types.ts';
import type { ExportEvent, PlatformRequest } from './export-types.ts';

/** Validates the decrypted credentials and builds the platform's request. */
export function buildPlatformRequest(platform: AdPlatform, e: ExportEvent, credentials: unknown, urlTemplate: string): PlatformRequest {
  switch (platform) {
    case 'meta':
      return buildMetaRequest(e, platformCredentialSchemas.meta.parse(credentials), urlTemplate);
    case 'google':
      return buildGoogleRequest(e, platformCredentialSchemas.google.parse(credentials), urlTemplate);
    case 'microsoft':
      return buildMicrosoftRequest(e, platformCredentialSchemas.microsoft.parse(credentials), urlTemplate);
    case 'tiktok':
      return buildTiktokRequest(e, platformCredentialSchemas.tiktok.parse(credentials), urlTemplate);
    case 'linkedin':
      return buildLinkedinRequest(e, platformCredentialSchemas.linkedin.parse(credentials), urlTemplate);
  }
}
