import { MenuItem, TextField as MuiTextField, Typography } from '@mui/material';
import {
  CreateButton,
  DataTable,
  DeleteButton,
  FunctionField,
  List,
  ListBase,
  ListView,
  TopToolbar,
  useCanAccess,
  useRecordContext,
  useGetIdentity,
  useNotify,
  useRefresh,
  useUpdate,
  type RaRecord,
} from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { ROLE_CHOICES } from './roles.ts';
import { errorMessage } from '../common/errors.ts';

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
            onError: (err: unknown) => {
              notify(errorMessage(err, 'Could not change the role'), { type: 'error' });
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

/** Open invitations (accepted at the invitee's first sign-in with that email). */
function Invitations() {
  const { canAccess } = useCanAccess({ resource: 'invitations', action: 'list' });
  if (!canAccess) return null;
  return (
    <ListBase resource="invitations" disableSyncWithLocation sort={{ field: 'createdAt', order: 'DESC' }} perPage={25}>
      <Typography variant="h6" component="h2" sx={{ mt: 3, mb: 1 }}>
        Open invitations
      </Typography>
      <ListView
        title={false}
        actions={false}
        empty={
          <Typography variant="body2" sx={{ p: 1 }}>
            No open invitations.
          </Typography>
        }
      >
        <DataTable bulkActionButtons={false} rowClick={false}>
          <DataTable.Col source="email" disableSort />
          <DataTable.Col source="role" disableSort />
          <DataTable.Col source="createdAt" label="Invited">
            <LocalDate source="createdAt" />
          </DataTable.Col>
          <DataTable.Col source="expiresAt" label="Expires" disableSort>
            <LocalDate source="expiresAt" />
          </DataTable.Col>
          <DataTable.Col label="" disableSort>
            <DeleteButton
              resource="invitations"
              label="Revoke"
              mutationMode="pessimistic"
              redirect={false}
              confirmTitle="Revoke this invitation?"
              confirmContent="The link stops working."
            />
          </DataTable.Col>
        </DataTable>
      </ListView>
    </ListBase>
  );
}

/** Remove another member (not yourself: ask another owner or admin). */
function RemoveMember() {
  const record = useRecordContext();
  const { identity } = useGetIdentity();
  if (!record || (identity?.id && (record.userId === identity.id || record.id === identity.id))) return null;
  return (
    <DeleteButton
      label="Remove"
      mutationMode="pessimistic"
      confirmTitle="Remove this member?"
      confirmContent="They lose access to this workspace at once."
    />
  );
}

export default function MemberList() {
  const { canAccess: canManage } = useCanAccess({ resource: 'members', action: 'create' });
  return (
    <>
      <List
        exporter={false}
        error={<ListError />}
        sort={{ field: 'joinedAt', order: 'ASC' }}
        actions={<TopToolbar>{canManage && <CreateButton label="Invite member" />}</TopToolbar>}
        empty={<EmptyState title="No members" action={canManage ? <CreateButton label="Invite member" /> : undefined} />}
      >
        <DataTable bulkActionButtons={false}>
          <DataTable.Col source="displayName" label="Name" />
          <DataTable.Col source="email" disableSort />
          <DataTable.Col source="role" label="Role">
            <FunctionField render={(r: RaRecord) => <RoleCell record={r} />} />
          </DataTable.Col>
          <DataTable.Col source="totp" label="TOTP" disableSort>
            <FunctionField render={(r: RaRecord) => (r.totp ? 'enrolled' : '—')} />
          </DataTable.Col>
          <DataTable.Col source="joinedAt" label="Since">
            <LocalDate source="joinedAt" />
          </DataTable.Col>
          <DataTable.Col label="" disableSort>
            {canManage ? <RemoveMember /> : null}
          </DataTable.Col>
        </DataTable>
      </List>
      <Invitations />
    </>
  );
}
