import { Button } from '@mui/material';
import { CreateButton, DataTable, FunctionField, List, TopToolbar, useRedirect, type RaRecord } from 'react-admin';
import { EmptyState } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { setSupportSession } from './supportSession.ts';

function ResumeButton({ record }: { record: RaRecord }) {
  const redirect = useRedirect();
  const expiresAt = record.expiresAt;
  if (!expiresAt || Date.parse(expiresAt) <= Date.now() || record.status === 'revoked' || record.status === 'ended') return null;
  return (
    <Button
      size="small"
      onClick={(e) => {
        e.stopPropagation();
        setSupportSession({ id: String(record.id), workspaceId: record.workspaceId, workspaceName: record.workspaceName, reason: record.reason, expiresAt });
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
      sort={{ field: 'startedAt', order: 'DESC' }}
      actions={
        <TopToolbar>
          <CreateButton label="Open a workspace for a ticket" />
        </TopToolbar>
      }
      empty={<EmptyState title="No support sessions" action={<CreateButton label="Open a workspace for a ticket" />} />}
    >
      <DataTable bulkActionButtons={false}>
        <DataTable.Col source="workspaceName" label="Workspace">
          <FunctionField render={(r: RaRecord) => r.workspaceName ?? r.workspaceId} />
        </DataTable.Col>
        <DataTable.Col source="ticket" />
        <DataTable.Col source="reason" />
        <DataTable.Col source="startedAt" label="Opened">
          <LocalDate source="startedAt" />
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
