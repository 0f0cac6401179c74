import { useState } from 'react';
import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  Stack,
  TextField as MuiTextField,
} from '@mui/material';
import {
  DataTable,
  FunctionField,
  List,
  TextField,
  useDataProvider,
  useGetIdentity,
  useNotify,
  useRefresh,
  type RaRecord,
} from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { DB_PATHS, minutes } from '../dbsessions/paths.ts';
import { errorMessage } from '../common/errors.ts';

/** Four eyes: a security officer approves or denies a full-scope request, with a comment the requester sees. */
function Decide({ record }: { record: RaRecord }) {
  const dataProvider = useDataProvider<WactDataProvider>();
  const { identity } = useGetIdentity();
  const notify = useNotify();
  const refresh = useRefresh();
  const [decision, setDecision] = useState<'approve' | 'deny' | undefined>();
  const [comment, setComment] = useState('');
  const own = identity?.id && record.requesterId === identity.id;
  if (own) return <span>your own request</span>;
  const submit = async () => {
    const d = decision!;
    setDecision(undefined);
    try {
      await dataProvider.call(d === 'approve' ? DB_PATHS.approve(record.id) : DB_PATHS.deny(record.id), {
        method: 'POST',
        json: { note: comment },
      });
      notify(d === 'approve' ? 'Approved' : 'Denied', { type: 'success' });
    } catch (err) {
      notify(errorMessage(err, 'Could not record the decision'), { type: 'error' });
    }
    setComment('');
    refresh();
  };
  return (
    <>
      <Stack direction="row" spacing={1}>
        <Button size="small" variant="contained" color="success" onClick={() => setDecision('approve')}>
          Approve
        </Button>
        <Button size="small" variant="outlined" color="error" onClick={() => setDecision('deny')}>
          Deny
        </Button>
      </Stack>
      <Dialog open={!!decision} onClose={() => setDecision(undefined)}>
        <DialogTitle>{decision === 'approve' ? 'Approve full access' : 'Deny the request'}</DialogTitle>
        <DialogContent>
          <DialogContentText>
            {record.requesterName ?? record.requesterId} asks for <strong>{record.scope}</strong> access to workspace {record.workspaceId}{' '}
            for {minutes(record.ttlSeconds)}: “{record.reason}”
          </DialogContentText>
          <MuiTextField
            autoFocus
            fullWidth
            margin="normal"
            label="Comment"
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            required={decision === 'deny'}
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setDecision(undefined)}>Cancel</Button>
          <Button variant="contained" onClick={() => void submit()} disabled={decision === 'deny' && !comment.trim()}>
            {decision === 'approve' ? 'Approve' : 'Deny'}
          </Button>
        </DialogActions>
      </Dialog>
    </>
  );
}

export default function ApprovalList() {
  return (
    <List
      title="Pending access requests"
      exporter={false}
      error={<ListError />}
      filter={{ status: 'pending' }}
      sort={{ field: 'requestedAt', order: 'ASC' }}
      queryOptions={{ refetchInterval: 5000 }}
      empty={<EmptyState title="Nothing waiting for approval" />}
    >
      <DataTable bulkActionButtons={false} rowClick={false}>
        <DataTable.Col source="requesterName" label="Requester" disableSort />
        <DataTable.Col source="workspaceId" label="Workspace">
          <TextField source="workspaceId" />
        </DataTable.Col>
        <DataTable.Col source="scope" disableSort />
        <DataTable.Col label="Duration" disableSort>
          <FunctionField render={(r: RaRecord) => minutes(r.ttlSeconds)} />
        </DataTable.Col>
        <DataTable.Col source="reason" disableSort />
        <DataTable.Col source="ticketRef" label="Ticket" disableSort />
        <DataTable.Col source="requestedAt" label="Requested">
          <LocalDate source="requestedAt" />
        </DataTable.Col>
        <DataTable.Col label="Decision" disableSort>
          <FunctionField render={(r: RaRecord) => <Decide record={r} />} />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
