import { useState } from 'react';
import { Alert, Box, Button, Card, CardContent, CardHeader, Chip, MenuItem, TextField } from '@mui/material';
import {
  DataTable,
  FunctionField,
  ListBase,
  ListView,
  useCreate,
  useDataProvider,
  useNotify,
  useRefresh,
  type RaRecord,
} from 'react-admin';
import { useQuery } from '@tanstack/react-query';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';
import { LocalDate, formatLocal } from '../common/Dates.tsx';
import { EmptyState } from '../common/ListStates.tsx';
import { errorMessage } from '../common/errors.ts';

const STATUS: Record<string, 'default' | 'success' | 'warning' | 'error'> = {
  pending: 'warning',
  propagating: 'warning',
  completed: 'success',
  overdue: 'error',
};

/** End-user deletion requests: the phone number is sent once, hashed by the broker in memory, never stored. */
function NewDeletion() {
  const [kind, setKind] = useState<'phone' | 'conversationId'>('phone');
  const [value, setValue] = useState('');
  const [create, { isPending }] = useCreate();
  const notify = useNotify();
  const refresh = useRefresh();
  return (
    <Box
      component="form"
      sx={{ display: 'flex', gap: 1, alignItems: 'flex-start', mb: 2, flexWrap: 'wrap' }}
      autoComplete="off"
      onSubmit={(e) => {
        e.preventDefault();
        create(
          'deletion-requests',
          { data: { [kind]: value.trim() } },
          {
            onSuccess: () => {
              setValue('');
              notify('Deletion request recorded (due within 30 days).', { type: 'success' });
              refresh();
            },
            onError: (err: unknown) => notify(errorMessage(err, 'Could not record the request'), { type: 'error' }),
          },
        );
      }}
    >
      <TextField
        select
        size="small"
        label="By"
        value={kind}
        onChange={(e) => setKind(e.target.value as typeof kind)}
        sx={{ minWidth: 170 }}
      >
        <MenuItem value="phone">Phone number</MenuItem>
        <MenuItem value="conversationId">Conversation id</MenuItem>
      </TextField>
      <TextField
        size="small"
        label={kind === 'phone' ? 'Phone number (international)' : 'Conversation id'}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        required
        sx={{ minWidth: 260 }}
        slotProps={{ htmlInput: { autoComplete: 'off' } }}
      />
      <Button type="submit" variant="contained" disabled={isPending || !value.trim()}>
        Request deletion
      </Button>
    </Box>
  );
}

/** Overdue requests (past their 30-day due date) raise an alert. */
function OverdueAlert() {
  const dataProvider = useDataProvider<WactDataProvider>();
  const ws = useWorkspaceId();
  const { data } = useQuery({
    queryKey: ['deletion-alerts', ws],
    queryFn: () => dataProvider.call('/api/workspaces/{ws}/deletion-alerts'),
    enabled: !!ws,
    refetchInterval: 60_000,
  });
  if (!data?.overdue) return null;
  return (
    <Alert severity="error" sx={{ mb: 2 }} role="alert">
      {data.overdue} deletion request{data.overdue === 1 ? ' is' : 's are'} overdue (oldest due {formatLocal(data.oldestDueAt)}).
    </Alert>
  );
}

export function DeletionCard() {
  return (
    <Card>
      <CardHeader
        title="End-user deletion requests"
        subheader="GDPR / CCPA: deletes every record linked to the person here and at synced ad platforms."
      />
      <CardContent>
        <OverdueAlert />
        <NewDeletion />
        <ListBase resource="deletion-requests" disableSyncWithLocation sort={{ field: 'requestedAt', order: 'DESC' }} perPage={10}>
          <ListView title={false} actions={false} empty={<EmptyState title="No deletion requests" />}>
            <DataTable bulkActionButtons={false} rowClick={false}>
              <DataTable.Col source="requestedAt" label="Requested">
                <LocalDate source="requestedAt" />
              </DataTable.Col>
              <DataTable.Col source="subjectKind" label="By" disableSort />
              <DataTable.Col source="dueAt" label="Due">
                <LocalDate source="dueAt" />
              </DataTable.Col>
              <DataTable.Col source="status">
                <FunctionField
                  render={(r: RaRecord) => (
                    <Chip
                      size="small"
                      label={r.overdue ? 'overdue' : r.status}
                      color={r.overdue ? 'error' : (STATUS[r.status] ?? 'default')}
                    />
                  )}
                />
              </DataTable.Col>
              <DataTable.Col label="Targets" disableSort>
                <FunctionField
                  render={(r: RaRecord) =>
                    Array.isArray(r.targets)
                      ? r.targets.length
                        ? r.targets.map((t: { platform: string; status: string }) => `${t.platform}: ${t.status}`).join(', ')
                        : 'no synced platforms'
                      : '—'
                  }
                />
              </DataTable.Col>
            </DataTable>
          </ListView>
        </ListBase>
        <Alert severity="info" sx={{ mt: 1 }}>
          Audit events keep no raw identifiers, so they stay after a deletion.
        </Alert>
      </CardContent>
    </Card>
  );
}
