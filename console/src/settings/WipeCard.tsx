import { useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  CardHeader,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  TextField,
} from '@mui/material';
import { useDataProvider, useGetIdentity, useNotify } from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { LIFECYCLE_PATHS, wipeConfirmed } from './paths.ts';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';
import { setWorkspaceId } from '../workspace/currentWorkspace.ts';
import { errorMessage } from '../common/errors.ts';

/** Owner only: crypto-shreds the workspace's keys, then deletes its rows. Typed confirmation + TOTP step-up. */
export function WipeCard() {
  const dataProvider = useDataProvider<WactDataProvider>();
  const { identity } = useGetIdentity();
  const notify = useNotify();
  const ws = useWorkspaceId();
  const name = (identity?.workspaces ?? []).find((w: { id: string; name: string }) => w.id === ws)?.name ?? '';
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!wipeConfirmed(typed, name)) return;
    setBusy(true);
    setError(undefined);
    try {
      await dataProvider.call(LIFECYCLE_PATHS.wipe, {
        method: 'POST',
        json: { confirm: typed, ...(code ? { totp: code.replace(/\s/g, '') } : {}) },
      });
      notify('Workspace wiped.', { type: 'success' });
      setWorkspaceId(undefined);
      window.location.assign('/#/');
      window.location.reload();
    } catch (err) {
      setError(errorMessage(err, 'The wipe was refused.'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card sx={{ borderColor: 'error.main', borderWidth: 1, borderStyle: 'solid' }}>
      <CardHeader
        title="Wipe workspace"
        subheader="Destroys the encryption keys first, then every row: conversations, clicks, conversions, credentials, links, API keys. Cannot be undone."
      />
      <CardContent>
        <Button color="error" variant="contained" onClick={() => setOpen(true)}>
          Wipe workspace…
        </Button>
        <Dialog open={open} onClose={() => setOpen(false)}>
          <Box component="form" onSubmit={submit}>
            <DialogTitle>Wipe “{name}”?</DialogTitle>
            <DialogContent sx={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
              <DialogContentText>
                Type the workspace name <strong>{name}</strong> to confirm. Backups keep only ciphertext whose keys are gone.
              </DialogContentText>
              <TextField
                autoFocus
                label="Workspace name"
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                slotProps={{ htmlInput: { autoComplete: 'off', 'aria-label': 'Type the workspace name to confirm' } }}
              />
              <TextField
                label="Authenticator code (if you use one)"
                value={code}
                onChange={(e) => setCode(e.target.value)}
                slotProps={{ htmlInput: { inputMode: 'numeric', autoComplete: 'one-time-code' } }}
              />
              {error && <Alert severity="error">{error}</Alert>}
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button type="submit" color="error" variant="contained" disabled={!wipeConfirmed(typed, name) || busy}>
                Wipe for good
              </Button>
            </DialogActions>
          </Box>
        </Dialog>
      </CardContent>
    </Card>
  );
}
