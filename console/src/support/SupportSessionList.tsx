import { Button } from '@mui/material';
import { CreateButton, DataTable, FunctionField, List, TopToolbar, useRedirect, type RaRecord } from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { setSupportSession } from './supportSession.ts';

function ResumeButton({ record }: { record: RaRecord }) {
  const redirect = useRedirect();
  const expiresAt = record.expiresAt;
  if (record.purpose !== 'support' || record.status !== 'active' || !expiresAt || Date.parse(expiresAt) <= Date.now()) return null;
  return (
    <Button
      size="small"
      onClick={(e) => {
        e.stopPropagation();
        setSupportSession({ id: String(record.id), workspaceId: record.workspaceId, reason: record.reason, expiresAt });
        redirect('/support/browse');
      }}
    >
      Browse
    </Button>
  );
}

export default function SupportSessionList() {
  return (
    <List
      exporter={false}
      error={<ListError />}
      sort={{ field: 'requestedAt', order: 'DESC' }}
      actions={
        <TopToolbar>
          <CreateButton label="Open a workspace for a ticket" />
        </TopToolbar>
      }
      empty={<EmptyState title="No support sessions" action={<CreateButton label="Open a workspace for a ticket" />} />}
    >
      <DataTable bulkActionButtons={false}>
        <DataTable.Col source="workspaceId" label="Workspace" />
        <DataTable.Col source="purpose" disableSort />
        <DataTable.Col source="ticketRef" label="Ticket" disableSort />
        <DataTable.Col source="reason" disableSort />
        <DataTable.Col source="requestedAt" label="Opened">
          <LocalDate source="requestedAt" />
        </DataTable.Col>
        <DataTable.Col source="expiresAt" label="Expires">
          <LocalDate source="expiresAt" />
        </DataTable.Col>
        <DataTable.Col source="status" />
        <DataTable.Col label="" disableSort>
          <FunctionField render={(r: RaRecord) => <ResumeButton record={r} />} />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
