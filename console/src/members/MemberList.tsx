import { MenuItem, TextField as MuiTextField } from '@mui/material';
import { CreateButton, DataTable, DeleteButton, FunctionField, List, TopToolbar, useCanAccess, useGetIdentity, useNotify, useRefresh, useUpdate, type RaRecord } from 'react-admin';
import { EmptyState } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { ROLE_CHOICES } from './roles.ts';

function RoleCell({ record }: { record: RaRecord }) {
  const { canAccess } = useCanAccess({ resource: 'members', action: 'edit' });
  const { identity } = useGetIdentity();
  const [update, { isPending }] = useUpdate();
  const notify = useNotify();
  const refresh = useRefresh();
  const self = identity?.id && (record.userId === identity.id || record.id === identity.id);
  if (!canAccess || self) return <span>{record.role}</span>;
  return (
    <MuiTextField
      select
      size="small"
      value={record.role}
      disabled={isPending}
      onClick={(e) => e.stopPropagation()}
      onChange={(e) =>
        update(
          'members',
          { id: record.id, data: { role: e.target.value }, previousData: record },
          {
            mutationMode: 'pessimistic',
            onSuccess: () => notify('Role changed', { type: 'success' }),
            onError: (err: any) => {
              notify(err?.message ?? 'Could not change the role', { type: 'error' });
              refresh();
            },
          },
        )
      }
      slotProps={{ htmlInput: { 'aria-label': `Role of ${record.email ?? record.displayName}` } }}
    >
      {ROLE_CHOICES.map((r) => (
        <MenuItem key={r.id} value={r.id}>
          {r.id}
        </MenuItem>
      ))}
    </MuiTextField>
  );
}

export default function MemberList() {
  const { canAccess: canManage } = useCanAccess({ resource: 'members', action: 'create' });
  return (
    <List
      exporter={false}
      sort={{ field: 'email', order: 'ASC' }}
      actions={<TopToolbar>{canManage && <CreateButton label="Invite member" />}</TopToolbar>}
      empty={<EmptyState title="No members" action={canManage ? <CreateButton label="Invite member" /> : undefined} />}
    >
      <DataTable bulkActionButtons={false}>
        <DataTable.Col source="email" />
        <DataTable.Col source="displayName" label="Name" />
        <DataTable.Col source="role" label="Role">
          <FunctionField render={(r: RaRecord) => <RoleCell record={r} />} />
        </DataTable.Col>
        <DataTable.Col source="status" />
        <DataTable.Col source="createdAt" label="Since">
          <LocalDate source="createdAt" />
        </DataTable.Col>
        <DataTable.Col label="" disableSort>
          {canManage ? <DeleteButton label="Remove" mutationMode="pessimistic" confirmTitle="Remove this member?" confirmContent="They lose access to this workspace at once." /> : null}
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
