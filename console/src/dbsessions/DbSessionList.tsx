import { Chip } from '@mui/material';
import {
  CreateButton,
  DataTable,
  FunctionField,
  List,
  NumberField,
  SelectInput,
  TextField,
  TopToolbar,
  useCanAccess,
  type RaRecord,
} from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { STATUS_COLORS } from './paths.ts';
import { RevokeButton } from './RevokeButton.tsx';

const filters = [
  <SelectInput
    key="status"
    source="status"
    choices={['pending', 'active', 'denied', 'revoked', 'expired', 'ended'].map((s) => ({ id: s, name: s }))}
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
      error={<ListError />}
      sort={{ field: 'requestedAt', order: 'DESC' }}
      filters={filters}
      actions={<TopToolbar>{canRequest && <CreateButton label="Request a session" />}</TopToolbar>}
      empty={<EmptyState title="No database sessions" action={canRequest ? <CreateButton label="Request a session" /> : undefined} />}
    >
      <DataTable rowClick="show" bulkActionButtons={false}>
        <DataTable.Col source="requesterName" label="Who" disableSort />
        <DataTable.Col source="workspaceId" label="Workspace">
          <TextField source="workspaceId" />
        </DataTable.Col>
        <DataTable.Col source="scope" disableSort />
        <DataTable.Col source="purpose" disableSort />
        <DataTable.Col source="reason" disableSort />
        <DataTable.Col source="status">
          <FunctionField render={(r: RaRecord) => <StatusChip record={r} />} />
        </DataTable.Col>
        <DataTable.Col source="requestedAt" label="Requested">
          <LocalDate source="requestedAt" />
        </DataTable.Col>
        <DataTable.Col source="expiresAt" label="Expires">
          <LocalDate source="expiresAt" emptyText="—" />
        </DataTable.Col>
        <DataTable.NumberCol source="statements" label="Statements">
          <NumberField source="statements" emptyText="0" />
        </DataTable.NumberCol>
        <DataTable.Col label="" disableSort>
          <FunctionField render={(r: RaRecord) => <RevokeButton record={r} />} />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
