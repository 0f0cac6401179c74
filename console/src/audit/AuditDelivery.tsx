import { useState } from 'react';
import {
  Accordion,
  AccordionDetails,
  AccordionSummary,
  Alert,
  Box,
  Button,
  FormControlLabel,
  Link,
  MenuItem,
  Switch,
  TextField,
  Typography,
} from '@mui/material';
import ExpandMoreIcon from '@mui/icons-material/ExpandMore';
import { useCanAccess, useDataProvider, useNotify } from 'react-admin';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';
import { formatLocal } from '../common/Dates.tsx';
import { errorMessage } from '../common/errors.ts';

const PATHS = { links: '/api/workspaces/{ws}/audit/export-links', siem: '/api/workspaces/{ws}/audit/siem' };

/** A single-use download link (5 minutes) for handing an export to a colleague's browser or a script. */
function DownloadLink() {
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const [format, setFormat] = useState<'jsonl' | 'csv'>('jsonl');
  const [link, setLink] = useState<{ url: string; expiresAt: string } | undefined>();
  return (
    <Box sx={{ display: 'flex', gap: 2, alignItems: 'center', flexWrap: 'wrap' }}>
      <TextField select size="small" label="Format" value={format} onChange={(e) => setFormat(e.target.value as 'jsonl' | 'csv')}>
        <MenuItem value="jsonl">JSON Lines</MenuItem>
        <MenuItem value="csv">CSV</MenuItem>
      </TextField>
      <Button
        onClick={async () => {
          try {
            setLink(await dataProvider.call(PATHS.links, { method: 'POST', json: { format } }));
          } catch (err) {
            notify(errorMessage(err, 'Could not create a link'), { type: 'error' });
          }
        }}
      >
        Create download link
      </Button>
      {link && (
        <Typography variant="body2">
          <Link href={link.url} download>
            Download (single use)
          </Link>{' '}
          — expires {formatLocal(link.expiresAt)}
        </Typography>
      )}
    </Box>
  );
}

/** Scheduled push of new events to the customer's SIEM over HTTPS; the authorization header is write-only. */
function SiemDestination() {
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const ws = useWorkspaceId();
  const qc = useQueryClient();
  const { data } = useQuery({ queryKey: ['siem', ws], queryFn: () => dataProvider.call(PATHS.siem), enabled: !!ws });
  const [url, setUrl] = useState('');
  const [authorization, setAuthorization] = useState('');
  const [enabled, setEnabled] = useState(true);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      await dataProvider.call(PATHS.siem, {
        method: 'PUT',
        json: { url: url.trim(), enabled, format: 'jsonl', ...(authorization ? { authorization } : {}) },
      });
      setAuthorization('');
      notify('SIEM destination saved', { type: 'success' });
      await qc.invalidateQueries({ queryKey: ['siem', ws] });
    } catch (err) {
      notify(errorMessage(err, 'Could not save the destination'), { type: 'error' });
    }
  };
  return (
    <Box component="form" onSubmit={save} sx={{ display: 'flex', flexDirection: 'column', gap: 1.5, maxWidth: 640 }} autoComplete="off">
      {data?.url ? (
        <Alert severity={data.failures ? 'warning' : 'info'}>
          Pushing to {data.url} every {Math.round(Number(data.intervalSeconds) / 60)} min{data.enabled ? '' : ' (paused)'}
          {data.hasAuthorization ? ', with an authorization header' : ''}.{data.lastError ? ` Last error: ${data.lastError}` : ''}
        </Alert>
      ) : (
        <Typography variant="body2">No SIEM destination configured.</Typography>
      )}
      <TextField
        size="small"
        label="HTTPS endpoint"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
        placeholder={data?.url ?? 'https://siem.example.com/ingest'}
        required
      />
      <TextField
        size="small"
        type="password"
        label="Authorization header (optional, write-only)"
        value={authorization}
        onChange={(e) => setAuthorization(e.target.value)}
        autoComplete="new-password"
      />
      <FormControlLabel control={<Switch checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />} label="Enabled" />
      <Box>
        <Button type="submit" variant="contained" disabled={!url.trim()}>
          Save destination
        </Button>
      </Box>
    </Box>
  );
}

export function AuditDelivery() {
  const { canAccess } = useCanAccess({ resource: 'audit', action: 'export' });
  if (!canAccess) return null;
  return (
    <Accordion sx={{ mb: 2 }}>
      <AccordionSummary expandIcon={<ExpandMoreIcon />}>
        <Typography>Download links and SIEM push</Typography>
      </AccordionSummary>
      <AccordionDetails sx={{ display: 'flex', flexDirection: 'column', gap: 3 }}>
        <DownloadLink />
        <SiemDestination />
      </AccordionDetails>
    </Accordion>
  );
}
