import { useState } from 'react';
import { Alert, Box, Button, Typography } from '@mui/material';
import TerminalIcon from '@mui/icons-material/Terminal';
import {
  FunctionField,
  NumberField,
  Show,
  SimpleShowLayout,
  TextField,
  useDataProvider,
  useGetIdentity,
  useNotify,
  useRecordContext,
  type RaRecord,
} from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { takeConnection, type ConnectionInfo } from '../dataProvider/connections.ts';
import { ConnectionDetails } from './ConnectionDetails.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { DB_PATHS, minutes } from './paths.ts';
import { StatusChip } from './DbSessionList.tsx';
import { RevokeButton } from './RevokeButton.tsx';
import { errorMessage } from '../common/errors.ts';

/**
 * The requester's connection details. Shown once when the session is granted; later a new
 * token can be issued (the previous one stops working). Kept only in this component.
 */
function ConnectionCommand() {
  const record = useRecordContext();
  const { identity } = useGetIdentity();
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const [connection, setConnection] = useState<ConnectionInfo | undefined>(() => (record ? takeConnection(String(record.id)) : undefined));
  const [busy, setBusy] = useState(false);
  if (!record) return null;
  const mine = record.requesterId === identity?.id;
  if (record.status === 'pending')
    return <Alert severity="info">Waiting for approval by a security officer. This page refreshes by itself.</Alert>;
  if (record.status === 'denied')
    return (
      <Alert severity="error">
        Denied by {record.decidedByName ?? 'security'}
        {record.decisionNote ? `: ${record.decisionNote}` : ''}.
      </Alert>
    );
  if (record.status !== 'active' || !mine) return null;
  if (connection) return <ConnectionDetails info={connection} sessionId={String(record.id)} />;
  return (
    <Box>
      <Button
        variant="contained"
        startIcon={<TerminalIcon />}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            const json = await dataProvider.call(DB_PATHS.token(record.id), { method: 'POST', json: {} });
            setConnection(json?.connection ?? json);
          } catch (err) {
            notify(errorMessage(err, 'Could not get the connection command'), { type: 'error' });
          } finally {
            setBusy(false);
          }
        }}
      >
        Get connection command
      </Button>
      <Typography variant="caption" sx={{ display: 'block', mt: 1 }}>
        Issues a new gateway token for this session; any earlier one stops working.
      </Typography>
    </Box>
  );
}

export default function DbSessionShow() {
  return (
    <Show queryOptions={{ refetchInterval: (q: { state?: { data?: RaRecord } }) => (q?.state?.data?.status === 'pending' ? 2000 : false) }}>
      <SimpleShowLayout>
        <FunctionField label="Status" render={(r: RaRecord) => <StatusChip record={r} />} />
        <TextField source="workspaceId" label="Workspace" />
        <TextField source="scope" />
        <TextField source="reason" />
        <TextField source="ticketRef" label="Ticket" emptyText="—" />
        <FunctionField label="Duration" render={(r: RaRecord) => minutes(r.ttlSeconds)} />
        <TextField source="requesterName" label="Requested by" />
        <LocalDate source="requestedAt" label="Requested" />
        <TextField source="decidedByName" label="Decided by" emptyText="—" />
        <TextField source="decisionNote" label="Decision note" emptyText="—" />
        <LocalDate source="expiresAt" label="Expires" emptyText="—" />
        <NumberField source="statements" label="Statements run" />
        <ConnectionCommand />
        <FunctionField label="" render={(r: RaRecord) => <RevokeButton record={r} />} />
      </SimpleShowLayout>
    </Show>
  );
}
