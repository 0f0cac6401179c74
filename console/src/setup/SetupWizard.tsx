import { useEffect, useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  MenuItem,
  Step,
  StepContent,
  StepLabel,
  Stepper,
  TextField,
  Typography,
} from '@mui/material';
import CheckCircleIcon from '@mui/icons-material/CheckCircle';
import HourglassTopIcon from '@mui/icons-material/HourglassTop';
import { Title, useDataProvider, useNotify, useRedirect } from 'react-admin';
import { useQueryClient } from '@tanstack/react-query';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { BSPS, webhookUrl } from '../credentials/providers.ts';
import { CredentialForm } from '../credentials/CredentialForm.tsx';
import { CREDENTIAL_PATHS } from '../credentials/CredentialList.tsx';
import { CopyField } from '../common/SecretOnce.tsx';
import { useIngestBase } from '../workspace/useIngestBase.ts';
import { setWorkspaceId } from '../workspace/currentWorkspace.ts';
import { authProvider } from '../authProvider.ts';
import { siteSnippet, trackingUrl } from '../links/linkUrls.ts';
import { validateWaNumber } from '../links/LinkCreate.tsx';
import { errorMessage } from '../common/errors.ts';

export const SETUP_PATHS = { workspaces: '/api/workspaces' };

function WorkspaceStep({ onDone }: { onDone: (ws: { id: string; name: string }) => void }) {
  const dataProvider = useDataProvider<WactDataProvider>();
  const [name, setName] = useState('');
  const [region, setRegion] = useState<'eu' | 'us'>('eu');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <Box
      component="form"
      sx={{ display: 'flex', flexDirection: 'column', gap: 2, maxWidth: 420 }}
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          const json = await dataProvider.call(SETUP_PATHS.workspaces, { method: 'POST', json: { name: name.trim(), region } });
          const id = String(json?.id ?? json?.workspace?.id);
          setWorkspaceId(id);
          onDone({ id, name: name.trim() });
        } catch (err) {
          setError(errorMessage(err, 'Could not create the workspace'));
        } finally {
          setBusy(false);
        }
      }}
    >
      <TextField
        label="Workspace name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
        autoFocus
        helperText="Usually your company or brand."
      />
      <TextField
        select
        label="Data region"
        value={region}
        onChange={(e) => setRegion(e.target.value as 'eu' | 'us')}
        helperText="Where this workspace's data is stored. It cannot leave this region."
      >
        <MenuItem value="eu">European Union</MenuItem>
        <MenuItem value="us">United States</MenuItem>
      </TextField>
      {error && <Alert severity="error">{error}</Alert>}
      <Box>
        <Button type="submit" variant="contained" disabled={busy || name.trim().length < 2}>
          Create workspace
        </Button>
      </Box>
    </Box>
  );
}

function BspStep({ workspaceId, onDone }: { workspaceId: string; onDone: (provider: string) => void }) {
  const base = useIngestBase();
  const [provider, setProvider] = useState<string>('meta');
  const bsp = BSPS.find((b) => b.id === provider)!;
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', gap: 2, maxWidth: 640 }}>
      <TextField select label="Your WhatsApp provider (BSP)" value={provider} onChange={(e) => setProvider(e.target.value)}>
        {BSPS.map((b) => (
          <MenuItem key={b.id} value={b.id}>
            {b.name}
          </MenuItem>
        ))}
      </TextField>
      <CopyField label="Webhook URL to paste at your provider" value={webhookUrl(base, bsp.id, workspaceId)} />
      <Typography variant="body2">{bsp.where}</Typography>
      <CredentialForm
        key={bsp.id}
        path={CREDENTIAL_PATHS.bsp(bsp.id)}
        fields={bsp.fields}
        submitLabel="Save and continue"
        onSaved={() => onDone(bsp.id)}
      />
    </Box>
  );
}

function LinkStep({ workspaceId, onDone }: { workspaceId: string; onDone: () => void }) {
  const dataProvider = useDataProvider<WactDataProvider>();
  const base = useIngestBase();
  const [waNumber, setWaNumber] = useState('');
  const [prefill, setPrefill] = useState('Hi! I would like to know more.');
  const [link, setLink] = useState<{ id: string; url?: string } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const numberError = waNumber ? validateWaNumber.map((v) => v(waNumber, {})).find(Boolean) : undefined;
  if (link) {
    const url = link.url ?? trackingUrl(base, workspaceId, link.id);
    return (
      <Box sx={{ display: 'flex', flexDirection: 'column', gap: 2, maxWidth: 720 }}>
        <CopyField label="Tracking link (use it in your ads)" value={url} />
        <CopyField label="Site snippet (paste into your landing page)" value={siteSnippet(url)} multiline />
        <Box>
          <Button variant="contained" onClick={onDone}>
            Continue
          </Button>
        </Box>
      </Box>
    );
  }
  return (
    <Box
      component="form"
      sx={{ display: 'flex', flexDirection: 'column', gap: 2, maxWidth: 420 }}
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          const { data } = await dataProvider.create('links', { data: { waNumber: waNumber.replace(/^\+/, ''), prefillText: prefill } });
          setLink({ id: String(data.id), url: typeof data.url === 'string' ? data.url : undefined });
        } catch (err) {
          setError(errorMessage(err, 'Could not create the link'));
        }
      }}
    >
      <TextField
        label="Business WhatsApp number"
        value={waNumber}
        onChange={(e) => setWaNumber(e.target.value)}
        required
        error={!!numberError}
        helperText={typeof numberError === 'string' ? numberError : 'International format, digits only, e.g. 4915123456789'}
      />
      <TextField label="Prefilled message" value={prefill} onChange={(e) => setPrefill(e.target.value)} />
      {error && <Alert severity="error">{error}</Alert>}
      <Box>
        <Button type="submit" variant="contained" disabled={!waNumber || !!numberError}>
          Create tracking link
        </Button>
      </Box>
    </Box>
  );
}

/** Polls the conversations list until the first conversation arrives, then turns green. */
export function TestMessageStep({ onFinish, intervalMs = 2000 }: { onFinish: () => void; intervalMs?: number }) {
  const dataProvider = useDataProvider<WactDataProvider>();
  const [arrived, setArrived] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (arrived) return;
    let stop = false;
    const tick = async () => {
      try {
        const { total, data } = await dataProvider.getList('conversations', {
          pagination: { page: 1, perPage: 1 },
          sort: { field: 'startedAt', order: 'DESC' },
          filter: {},
        });
        if (!stop && ((total ?? 0) > 0 || data.length > 0)) setArrived(true);
        setError(undefined);
      } catch (err) {
        if (!stop) setError(errorMessage(err, 'Could not check for conversations'));
      }
    };
    void tick();
    const t = setInterval(() => void tick(), intervalMs);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [arrived, dataProvider, intervalMs]);
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
      {arrived ? (
        <Alert severity="success" icon={<CheckCircleIcon />} data-testid="first-conversation" role="status">
          Your first conversation has arrived. WAct is receiving your webhooks.
        </Alert>
      ) : (
        <Alert severity="info" icon={<HourglassTopIcon />} role="status" aria-live="polite">
          Open your tracking link on a phone and send the prefilled WhatsApp message. Waiting for the first conversation…
        </Alert>
      )}
      {error && <Alert severity="warning">{error}</Alert>}
      <Box>
        <Button variant="contained" disabled={!arrived} onClick={onFinish}>
          Go to the dashboard
        </Button>
      </Box>
    </Box>
  );
}

/** A new owner's first steps: workspace, BSP webhook, tracking link, first test message. */
export default function SetupWizard() {
  const [step, setStep] = useState(0);
  const [workspace, setWorkspace] = useState<{ id: string; name: string } | undefined>();
  const notify = useNotify();
  const redirect = useRedirect();
  const queryClient = useQueryClient();
  return (
    <Box sx={{ p: 2 }}>
      <Title title="Set up WAct" />
      <Card>
        <CardContent>
          <Typography variant="h5" component="h1" gutterBottom>
            Get started
          </Typography>
          <Stepper activeStep={step} orientation="vertical">
            <Step>
              <StepLabel>Name and region</StepLabel>
              <StepContent>
                <WorkspaceStep
                  onDone={async (ws) => {
                    setWorkspace(ws);
                    // The new membership changes the role and the menu: reload who we are.
                    authProvider.state.invalidate();
                    await queryClient.invalidateQueries();
                    notify(`Workspace “${ws.name}” created`, { type: 'success' });
                    setStep(1);
                  }}
                />
              </StepContent>
            </Step>
            <Step>
              <StepLabel>Connect your WhatsApp provider</StepLabel>
              <StepContent>{workspace && <BspStep workspaceId={workspace.id} onDone={() => setStep(2)} />}</StepContent>
            </Step>
            <Step>
              <StepLabel>Tracking link and site snippet</StepLabel>
              <StepContent>{workspace && <LinkStep workspaceId={workspace.id} onDone={() => setStep(3)} />}</StepContent>
            </Step>
            <Step>
              <StepLabel>Send a test message</StepLabel>
              <StepContent>{step === 3 && <TestMessageStep onFinish={() => redirect('/')} />}</StepContent>
            </Step>
          </Stepper>
        </CardContent>
      </Card>
    </Box>
  );
}
