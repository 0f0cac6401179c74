import { useState } from 'react';
import { Accordion, AccordionDetails, AccordionSummary, Alert, Box, Chip, Stack, Typography } from '@mui/material';
import ExpandMoreIcon from '@mui/icons-material/ExpandMore';
import { Loading, Title, useGetList, type RaRecord } from 'react-admin';
import { AD_PLATFORMS, BSPS, webhookUrl } from './providers.ts';
import { CredentialForm } from './CredentialForm.tsx';
import { formatLocal } from '../common/Dates.tsx';
import { CopyField } from '../common/SecretOnce.tsx';
import { useIngestBase } from '../workspace/useIngestBase.ts';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';

export const CREDENTIAL_PATHS = {
  bsp: (provider: string) => `/api/workspaces/{ws}/credentials/bsp/${provider}`,
  adPlatform: (platform: string) => `/api/workspaces/{ws}/credentials/ad-platforms/${platform}`,
};

/** Which secrets are configured (names and dates only: values are never sent back) and forms to replace them. */
export default function CredentialList() {
  const { data, isPending, error, refetch } = useGetList('credentials', {
    pagination: { page: 1, perPage: 50 },
    sort: { field: 'kind', order: 'ASC' },
  });
  const base = useIngestBase();
  const workspaceId = useWorkspaceId() ?? '';
  const [open, setOpen] = useState<string | false>(false);
  const configured = (kind: 'bsp' | 'ad-platform', id: string) =>
    data?.find(
      (c: RaRecord) =>
        (c.kind === kind || (kind === 'ad-platform' && c.kind === 'ad_platform')) && (c.provider === id || c.platform === id),
    );
  if (isPending) return <Loading />;
  return (
    <Box sx={{ p: 2 }}>
      <Title title="Credentials" />
      {error && <Alert severity="error">Could not load the credential status: {error.message}</Alert>}
      <Typography variant="h6" component="h2" gutterBottom>
        BSP webhooks
      </Typography>
      {BSPS.map((b) => {
        const c = configured('bsp', b.id);
        return (
          <Accordion key={b.id} expanded={open === `bsp:${b.id}`} onChange={(_, e) => setOpen(e ? `bsp:${b.id}` : false)}>
            <AccordionSummary expandIcon={<ExpandMoreIcon />}>
              <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
                <Typography>{b.name}</Typography>
                {c ? (
                  <Chip size="small" color="success" label={`configured ${formatLocal(c.updatedAt ?? c.createdAt)}`} />
                ) : (
                  <Chip size="small" label="not configured" />
                )}
              </Stack>
            </AccordionSummary>
            <AccordionDetails sx={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
              <CopyField label="Webhook URL" value={webhookUrl(base, b.id, workspaceId)} />
              <Typography variant="body2">{b.where}</Typography>
              <CredentialForm
                path={CREDENTIAL_PATHS.bsp(b.id)}
                fields={b.fields}
                onSaved={() => void refetch()}
                submitLabel={c ? 'Replace secret' : 'Save secret'}
              />
            </AccordionDetails>
          </Accordion>
        );
      })}
      <Typography variant="h6" component="h2" sx={{ mt: 3 }} gutterBottom>
        Ad platforms (conversions)
      </Typography>
      {AD_PLATFORMS.map((p) => {
        const c = configured('ad-platform', p.id);
        return (
          <Accordion key={p.id} expanded={open === `ad:${p.id}`} onChange={(_, e) => setOpen(e ? `ad:${p.id}` : false)}>
            <AccordionSummary expandIcon={<ExpandMoreIcon />}>
              <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
                <Typography>{p.name}</Typography>
                {c ? (
                  <Chip size="small" color="success" label={`connected ${formatLocal(c.updatedAt ?? c.createdAt)}`} />
                ) : (
                  <Chip size="small" label="not connected" />
                )}
              </Stack>
            </AccordionSummary>
            <AccordionDetails>
              <CredentialForm
                path={CREDENTIAL_PATHS.adPlatform(p.id)}
                fields={p.fields}
                onSaved={() => void refetch()}
                submitLabel={c ? 'Replace credentials' : 'Connect'}
              />
            </AccordionDetails>
          </Accordion>
        );
      })}
    </Box>
  );
}
