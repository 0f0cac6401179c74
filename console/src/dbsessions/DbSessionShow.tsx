import { useState } from 'react';
import { Alert, Box, Button, Typography } from '@mui/material';
import TerminalIcon from '@mui/icons-material/Terminal';
import { FunctionField, Show, SimpleShowLayout, TextField, useDataProvider, useGetIdentity, useNotify, useRecordContext, type RaRecord } from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { LocalDate } from '../common/Dates.tsx';
import { CopyField } from '../common/SecretOnce.tsx';
import { DB_PATHS } from './paths.ts';
import { StatusChip } from './DbSessionList.tsx';
import { RevokeButton } from './RevokeButton.tsx';

/**
 * The requester fetches the connection command once the session is granted. The token in
 * it is shown once, kept only in this component, and expires with the session.
 */
function ConnectionCommand() {
  const record = useRecordContext();
  const { identity } = useGetIdentity();
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const [command, setCommand] = useState<string | undefined>(record?.connectionCommand);
  const [busy, setBusy] = useState(false);
  if (!record) return null;
  const mine = !record.requesterId || record.requesterId === identity?.id;
  if (record.status === 'pending') return <Alert severity="info">Waiting for approval by a security officer. This page refreshes by itself.</Alert>;
  if (record.status === 'denied') return <Alert severity="error">Denied{record.decisionComment ? `: ${record.decisionComment}` : ''}.</Alert>;
  if (!['active', 'granted', 'approved'].includes(record.status) || !mine) return null;
  if (command) return <CopyField label="Connection command" value={command} multiline />;
  return (
    <Box>
      <Button
        variant="contained"
        startIcon={<TerminalIcon />}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            const json = await dataProvider.call(DB_PATHS.connect(record.id), { method: 'POST', json: {} });
            setCommand(json?.command ?? json?.psql ?? json?.connectionCommand ?? (json?.connectionString ? `psql "${json.connectionString}"` : undefined));
          } catch (err: any) {
            notify(err?.message ?? 'Could not get the connection command', { type: 'error' });
          } finally {
            setBusy(false);
          }
        }}
      >
        Get connection command
      </Button>
      <Typography variant="caption" sx={{ display: "block", mt: 1 }}>
        The command contains a one-session token; it stops working when the session expires.
      </Typography>
    </Box>
  );
}

export default function DbSessionShow() {
  return (
    <Show queryOptions={{ refetchInterval: (q: any) => (q?.state?.data?.status === 'pending' ? 2000 : false) }}>
      <SimpleShowLayout>
        <FunctionField label="Status" render={(r: RaRecord) => <StatusChip record={r} />} />
        <TextField source="workspaceId" label="Workspace" />
        <TextField source="scope" />
        <TextField source="reason" />
        <TextField source="ticket" emptyText="—" />
        <FunctionField label="Approved by" render={(r: RaRecord) => r.approverName ?? r.approvedBy ?? '—'} />
        <LocalDate source="createdAt" label="Requested" />
        <LocalDate source="expiresAt" label="Expires" emptyText="—" />
        <ConnectionCommand />
        <FunctionField label="" render={(r: RaRecord) => <RevokeButton record={r} />} />
      </SimpleShowLayout>
    </Show>
  );
}
