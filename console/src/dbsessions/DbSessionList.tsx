import { Chip } from '@mui/material';
import { CreateButton, DataTable, FunctionField, List, NumberField, SelectInput, TopToolbar, useCanAccess, type RaRecord } from 'react-admin';
import { EmptyState } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { STATUS_COLORS } from './paths.ts';
import { RevokeButton } from './RevokeButton.tsx';

const filters = [
  <SelectInput
    key="status"
    source="status"
    choices={['pending', 'active', 'denied', 'revoked', 'expired'].map((s) => ({ id: s, name: s }))}
    alwaysOn
  />,
];

export function StatusChip({ record }: { record: RaRecord }) {
  return <Chip size="small" label={record.status} color={STATUS_COLORS[record.status] ?? 'default'} data-testid="session-status" />;
}

export default function DbSessionList() {
  const { canAccess: canRequest } = useCanAccess({ resource: 'db-sessions', action: 'create' });
  return (
    <List
      exporter={false}
      sort={{ field: 'createdAt', order: 'DESC' }}
      filters={filters}
      actions={<TopToolbar>{canRequest && <CreateButton label="Request a session" />}</TopToolbar>}
      empty={<EmptyState title="No database sessions" action={canRequest ? <CreateButton label="Request a session" /> : undefined} />}
    >
      <DataTable rowClick="show" bulkActionButtons={false}>
        <DataTable.Col source="requesterName" label="Who">
          <FunctionField render={(r: RaRecord) => r.requesterName ?? r.requester?.displayName ?? r.requesterId ?? '—'} />
        </DataTable.Col>
        <DataTable.Col source="workspaceId" label="Workspace">
          <FunctionField render={(r: RaRecord) => r.workspaceName ?? r.workspaceId} />
        </DataTable.Col>
        <DataTable.Col source="scope" />
        <DataTable.Col source="reason" />
        <DataTable.Col source="status">
          <FunctionField render={(r: RaRecord) => <StatusChip record={r} />} />
        </DataTable.Col>
        <DataTable.Col source="createdAt" label="Requested">
          <LocalDate source="createdAt" />
        </DataTable.Col>
        <DataTable.Col source="expiresAt" label="Expires">
          <LocalDate source="expiresAt" emptyText="—" />
        </DataTable.Col>
        <DataTable.NumberCol source="statementCount" label="Statements">
          <NumberField source="statementCount" emptyText="0" />
        </DataTable.NumberCol>
        <DataTable.Col label="" disableSort>
          <FunctionField render={(r: RaRecord) => <RevokeButton record={r} />} />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
