import { useState, type ReactNode } from 'react';
import { Alert, Box, Button, TextField } from '@mui/material';
import { getAccessReason, setAccessReason } from '../workspace/accessReason.ts';

export const MIN_REASON = 10;

/**
 * Employees state why before they read (the broker refuses an employee read without a
 * reason and records it with the access). The reason then rides on every request
 * (`X-Wact-Reason`) until the page is reloaded.
 */
export function ReasonGate({ children, what }: { children: ReactNode; what: string }) {
  const [reason, setReason] = useState(getAccessReason() ?? '');
  const [confirmed, setConfirmed] = useState(!!getAccessReason());
  if (confirmed) return <>{children}</>;
  return (
    <Box
      component="form"
      sx={{ p: 2, display: 'flex', flexDirection: 'column', gap: 2, maxWidth: 560 }}
      onSubmit={(e) => {
        e.preventDefault();
        if (reason.trim().length < MIN_REASON) return;
        setAccessReason(reason);
        setConfirmed(true);
      }}
    >
      <Alert severity="info">Reading {what} is recorded with your name and reason.</Alert>
      <TextField
        label="Reason for this access"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        autoFocus
        helperText={`At least ${MIN_REASON} characters, e.g. an incident or ticket reference.`}
      />
      <Box>
        <Button type="submit" variant="contained" disabled={reason.trim().length < MIN_REASON}>
          Continue
        </Button>
      </Box>
    </Box>
  );
}
