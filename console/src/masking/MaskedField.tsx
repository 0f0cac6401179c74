import { useEffect, useId, useState } from 'react';
import {
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  IconButton,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import LockIcon from '@mui/icons-material/Lock';
import LockOpenIcon from '@mui/icons-material/LockOpen';
import { useCanAccess, useDataProvider, useNotify, useRecordContext, useResourceContext } from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { errorMessage } from '../common/errors.ts';

/** How long a revealed identifier stays visible before it is masked again. */
export const REVEAL_MS = 60_000;
export const MIN_REASON_LENGTH = 10;

export interface MaskedFieldProps {
  source: string;
  label?: string;
  /** Offer the audited "unmask" action (still only shown when the role allows it). */
  unmaskable?: boolean;
  emptyText?: string;
  /** How long a revealed value stays visible (tests shorten it). */
  revealMs?: number;
}

/**
 * An identifier as the API returns it: masked (the broker masks; the console never
 * receives the clear value unless someone allowed asks for it with a reason). The unmask
 * button exists only for roles with `identifiers.unmask`; the clear value lives in
 * component state for one minute and is never cached or stored.
 */
export function MaskedField({ source, unmaskable = true, emptyText = '—', revealMs = REVEAL_MS }: MaskedFieldProps) {
  const record = useRecordContext();
  const resource = useResourceContext();
  const masked = record?.[source];
  const [revealed, setRevealed] = useState<string | undefined>();
  const { canAccess } = useCanAccess({ resource: resource ?? '', action: 'unmask' });

  useEffect(() => {
    if (revealed === undefined) return;
    const t = setTimeout(() => setRevealed(undefined), revealMs);
    return () => clearTimeout(t);
  }, [revealed, revealMs]);

  if (masked === undefined || masked === null || masked === '')
    return (
      <Typography component="span" variant="body2">
        {emptyText}
      </Typography>
    );
  return (
    <Box component="span" sx={{ display: 'inline-flex', alignItems: 'center', gap: 0.5 }} onClick={(e) => e.stopPropagation()}>
      <Typography
        component="span"
        variant="body2"
        sx={{ fontFamily: 'monospace' }}
        data-masked={revealed === undefined ? 'true' : 'false'}
        aria-label={revealed === undefined ? `masked ${source}` : `revealed ${source}`}
      >
        {revealed ?? String(masked)}
      </Typography>
      {revealed !== undefined ? (
        <Tooltip title="Mask again">
          <IconButton size="small" aria-label="Mask again" onClick={() => setRevealed(undefined)}>
            <LockOpenIcon fontSize="inherit" />
          </IconButton>
        </Tooltip>
      ) : unmaskable && canAccess && record?.id !== undefined && resource ? (
        <UnmaskButton resource={resource} id={record.id} field={source} onRevealed={setRevealed} />
      ) : null}
    </Box>
  );
}

export function UnmaskButton({
  resource,
  id,
  field,
  onRevealed,
}: {
  resource: string;
  id: string | number;
  field: string;
  onRevealed: (value: string) => void;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Tooltip title="Unmask (audited)">
        <IconButton size="small" aria-label={`Unmask ${field}`} onClick={() => setOpen(true)}>
          <LockIcon fontSize="inherit" />
        </IconButton>
      </Tooltip>
      {open && <UnmaskDialog resource={resource} id={id} field={field} onClose={() => setOpen(false)} onRevealed={onRevealed} />}
    </>
  );
}

export function UnmaskDialog({
  resource,
  id,
  field,
  onClose,
  onRevealed,
}: {
  resource: string;
  id: string | number;
  field: string;
  onClose: () => void;
  onRevealed: (value: string) => void;
}) {
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const reasonId = useId();
  const tooShort = reason.trim().length < MIN_REASON_LENGTH;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (tooShort || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const { value } = await dataProvider.unmask(resource, { id, field, reason: reason.trim() });
      onRevealed(value);
      notify('Identifier revealed for one minute. This access is in the audit log.', { type: 'info' });
      onClose();
    } catch (err) {
      setError(errorMessage(err, 'Could not unmask.'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open onClose={onClose} aria-labelledby={`${reasonId}-title`}>
      <form onSubmit={submit}>
        <DialogTitle id={`${reasonId}-title`}>Unmask identifier</DialogTitle>
        <DialogContent>
          <DialogContentText>
            Revealing this identifier is recorded in the workspace audit log with your name and reason. It is shown for one minute.
          </DialogContentText>
          <TextField
            autoFocus
            fullWidth
            margin="normal"
            id={reasonId}
            label="Reason"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            helperText={error ?? `At least ${MIN_REASON_LENGTH} characters, e.g. a ticket reference.`}
            error={!!error}
            required
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={tooShort || busy}>
            Unmask
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
