import type { ReactNode } from 'react';
import { Alert, Box, Button, Typography } from '@mui/material';
import { useListContext } from 'react-admin';
import InboxIcon from '@mui/icons-material/Inbox';

/** The "nothing here yet" state of a list, with what to do about it. */
export function EmptyState({ title, hint, action }: { title: string; hint?: ReactNode; action?: ReactNode }) {
  return (
    <Box role="status" sx={{ textAlign: 'center', p: 6, color: 'text.secondary' }}>
      <InboxIcon sx={{ fontSize: 56, opacity: 0.5 }} aria-hidden />
      <Typography variant="h6" component="p">
        {title}
      </Typography>
      {hint && <Typography variant="body2">{hint}</Typography>}
      {action && <Box sx={{ mt: 2 }}>{action}</Box>}
    </Box>
  );
}

/** The error state of a list: the broker's message (e.g. "your role … does not allow this") and a retry. */
export function ListError() {
  const { error, refetch } = useListContext();
  return (
    <Alert
      severity="error"
      sx={{ m: 2 }}
      action={
        <Button color="inherit" size="small" onClick={() => void refetch()}>
          Retry
        </Button>
      }
    >
      {error instanceof Error && error.message ? error.message : 'Could not load this list.'}
    </Alert>
  );
}
