import type { Command } from 'commander';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { BadRequestError } from '../../shared/errors/errors.ts';
import type { Platform } from '../../shared/runtime/platform.ts';
import { createApiKeyService } from '../../shared/workspaces/api-keys/api-keys-service.ts';
import { createBspCredentialService } from '../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { createPlatformCredentialService } from '../../shared/workspaces/platform-credentials/platform-credentials-service.ts';
import { createLinkService } from '../../shared/workspaces/links/links-service.ts';
import { operatorActor, withOperator } from '../operator.ts';
import { printResult } from '../output.ts';
import { cliMode } from '../mode.ts';
import { brokerRequest } from './identity.ts';

const wsPath = (id: string, rest: string) => `/api/workspaces/${encodeURIComponent(id)}${rest}`;

/**
 * Workspace configuration for ingest. Production: the console's routes, as the
 * signed-in person (credentials.manage, links.manage, apikeys.manage). Development
 * (direct mode): each writes an audit event as operator:<os user> (never the secret).
 */

function services(p: Platform) {
  const crypto = createFieldCrypto(p.keyring);
  const poolFor = (r: 'eu' | 'us') => p.pools.region(r);
  return {
    bsp: createBspCredentialService({ crypto, poolFor, ttlMs: 0 }),
    links: createLinkService({ poolFor }),
    apiKeys: createApiKeyService({ poolFor }),
    platforms: createPlatformCredentialService({ crypto, poolFor }),
  };
}

async function audited(
  p: Platform,
  ws: { id: string; region: 'eu' | 'us' },
  action: string,
  target: { type: string; id?: string },
  metadata: Record<string, string | number | boolean | null> = {},
) {
  await p.audit.append({ action, actor: operatorActor(), workspaceId: ws.id, region: ws.region, target, outcome: 'success', metadata });
}

export function registerIngestCommands(program: Command): void {
  const bsp = program.command('bsp').description('BSP webhook credentials (operator)');
  bsp
    .command('set')
    .description(
      'store a workspace’s BSP webhook secret (encrypted): Meta app secret, Twilio auth token, 360dialog platform secret, Bird signing key, or the Gupshup x-wact-token value',
    )
    .requiredOption('--workspace <id>', 'workspace id')
    .requiredOption('--provider <provider>', 'meta | twilio | 360dialog | bird | gupshup')
    .requiredOption(
      '--secret <secret>',
      'the secret (prefer WACT_BSP_SECRET in the environment to keep it out of shell history: pass --secret -)',
    )
    .option('--verify-token <token>', 'Meta only: the verify token of the GET subscription handshake')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; provider: string; secret: string; verifyToken?: string; reason?: string; json?: boolean }) => {
      const secret = o.secret === '-' ? (process.env.WACT_BSP_SECRET ?? '') : o.secret;
      if (cliMode() === 'broker') {
        const r = await brokerRequest<{ provider: string; verifyToken: boolean }>(
          'PUT',
          wsPath(o.workspace, `/credentials/bsp/${encodeURIComponent(o.provider)}`),
          { secret, ...(o.verifyToken ? { verifyToken: o.verifyToken } : {}) },
          { reason: o.reason },
        );
        const out = {
          workspace: o.workspace,
          provider: r.provider,
          verifyToken: r.verifyToken,
          webhookPath: `/v1/webhooks/${r.provider}/${o.workspace}`,
        };
        printResult(!!o.json, out, () => `stored ${out.provider} secret for ${out.workspace}; webhook URL path ${out.webhookPath}`);
        return;
      }
      const out = await withOperator(async (p) => {
        const ws = await p.workspaces.get(o.workspace);
        const r = await services(p).bsp.set(ws, { provider: o.provider as 'meta', secret, verifyToken: o.verifyToken });
        await audited(
          p,
          ws,
          'ingest.bsp.set',
          { type: 'bsp_credentials', id: r.provider },
          { provider: r.provider, verifyToken: r.verifyToken },
        );
        return { workspace: ws.id, provider: r.provider, verifyToken: r.verifyToken, webhookPath: `/v1/webhooks/${r.provider}/${ws.id}` };
      });
      printResult(!!o.json, out, () => `stored ${out.provider} secret for ${out.workspace}; webhook URL path ${out.webhookPath}`);
    });

  const link = program.command('link').description('click-to-WhatsApp links (operator)');
  link
    .command('create')
    .description('create a tracking link /r/{workspace}/{link} that redirects to wa.me with a ref code')
    .requiredOption('--workspace <id>', 'workspace id')
    .requiredOption('--phone <number>', 'the business’s WhatsApp number (E.164)')
    .option('--text <text>', 'prefilled message text (the ref code is appended)', '')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; phone: string; text: string; reason?: string; json?: boolean }) => {
      if (cliMode() === 'broker') {
        const l = await brokerRequest<{ id: string }>(
          'POST',
          wsPath(o.workspace, '/links'),
          { waNumber: o.phone, ...(o.text ? { prefillText: o.text } : {}) },
          { reason: o.reason },
        );
        const out = { id: l.id, workspace: o.workspace, path: `/r/${o.workspace}/${l.id}` };
        printResult(!!o.json, out, () => `link ${out.id}: path ${out.path} on the ingest host`);
        return;
      }
      const out = await withOperator(async (p) => {
        const ws = await p.workspaces.get(o.workspace);
        const l = await services(p).links.create(ws, { phone: o.phone, text: o.text });
        await audited(p, ws, 'ingest.link.create', { type: 'link', id: l.id });
        const base = p.config.raw.INGEST_PUBLIC_URL?.replace(/\/+$/, '') ?? `https://${p.config.publicHost}:${p.config.ports.ingest}`;
        return { id: l.id, workspace: ws.id, url: `${base}/r/${ws.id}/${l.id}` };
      });
      printResult(!!o.json, out, () => `link ${out.id}: ${out.url}`);
    });

  const apikey = program.command('apikey').description('workspace API keys for /v1/clicks and /v1/conversions (operator)');
  apikey
    .command('create')
    .description('create an API key (shown once; only its hash is stored)')
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--label <label>', 'label', '')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; label: string; reason?: string; json?: boolean }) => {
      if (cliMode() === 'broker') {
        // The console requires a label; the CLI's default names where the key was made.
        const k = await brokerRequest<{ id: string; key: string }>(
          'POST',
          wsPath(o.workspace, '/api-keys'),
          { label: o.label || 'created with wact apikey create' },
          { reason: o.reason },
        );
        const out = { id: k.id, workspace: o.workspace, key: k.key };
        printResult(!!o.json, out, () => `API key ${out.id} (store it now, it is not shown again):\n${out.key}`);
        return;
      }
      const out = await withOperator(async (p) => {
        const ws = await p.workspaces.get(o.workspace);
        const k = await services(p).apiKeys.create(ws, o.label);
        await audited(p, ws, 'ingest.apikey.create', { type: 'api_key', id: k.id });
        return { id: k.id, workspace: ws.id, key: k.key };
      });
      printResult(!!o.json, out, () => `API key ${out.id} (store it now, it is not shown again):\n${out.key}`);
    });

  const platform = program.command('platform').description('ad-platform connections for conversion export (operator)');
  platform
    .command('set')
    .description('store ad-platform credentials (encrypted) for a workspace')
    .requiredOption('--workspace <id>', 'workspace id')
    .requiredOption('--platform <platform>', 'meta | google | microsoft | tiktok | linkedin')
    .requiredOption(
      '--credentials <json>',
      'JSON, e.g. meta: {"accessToken","datasetId","wabaId"}; google: {"accessToken","developerToken","customerId","conversionActionId"}; "-" reads WACT_PLATFORM_CREDENTIALS',
    )
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; platform: string; credentials: string; reason?: string; json?: boolean }) => {
      const text = o.credentials === '-' ? (process.env.WACT_PLATFORM_CREDENTIALS ?? '') : o.credentials;
      let creds: unknown;
      try {
        creds = JSON.parse(text);
      } catch {
        throw new BadRequestError('--credentials is not valid JSON');
      }
      if (cliMode() === 'broker') {
        if (!creds || typeof creds !== 'object' || Array.isArray(creds)) throw new BadRequestError('--credentials must be a JSON object');
        const r = await brokerRequest<{ platform: string }>(
          'PUT',
          wsPath(o.workspace, `/credentials/ad-platforms/${encodeURIComponent(o.platform)}`),
          creds,
          { reason: o.reason },
        );
        const out = { workspace: o.workspace, platform: r.platform };
        printResult(!!o.json, out, () => `stored ${out.platform} credentials for ${out.workspace}`);
        return;
      }
      const out = await withOperator(async (p) => {
        const ws = await p.workspaces.get(o.workspace);
        const r = await services(p).platforms.set(ws, o.platform, creds);
        await audited(p, ws, 'ingest.platform.set', { type: 'ad_platform_credentials', id: r.platform }, { platform: r.platform });
        return { workspace: ws.id, platform: r.platform };
      });
      printResult(!!o.json, out, () => `stored ${out.platform} credentials for ${out.workspace}`);
    });
}
