import { Chip } from '@mui/material';
import { useState } from 'react';
import { Button } from '@mui/material';
import { Confirm, DataTable, FunctionField, List, useCanAccess, useDataProvider, useNotify, useRefresh, type RaRecord } from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { errorMessage } from '../common/errors.ts';

function TotpChip({ record }: { record: RaRecord }) {
  const t = record.totp ?? {};
  const enrolled = record.totpEnrolled ?? t.enrolled;
  const locked = record.totpLocked ?? t.locked ?? (t.lockedUntil && Date.parse(t.lockedUntil) > Date.now());
  if (locked) return <Chip size="small" color="error" label="locked" />;
  return enrolled ? <Chip size="small" color="success" label="enrolled" /> : <Chip size="small" color="warning" label="not enrolled" />;
}

/** Security ends all of an employee's broker sessions (e.g. a lost laptop). */
function RevokeSessions({ record }: { record: RaRecord }) {
  const { canAccess } = useCanAccess({ resource: 'employees', action: 'revoke' });
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const refresh = useRefresh();
  const [open, setOpen] = useState(false);
  if (!canAccess || !record.activeSessions) return null;
  return (
    <>
      <Button size="small" color="error" onClick={() => setOpen(true)}>
        Revoke {record.activeSessions} session{record.activeSessions === 1 ? '' : 's'}
      </Button>
      <Confirm
        isOpen={open}
        title={`Sign ${record.displayName} out everywhere?`}
        content="Every browser and CLI session of this employee ends now."
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          setOpen(false);
          try {
            const r = await dataProvider.call(`/api/employees/${encodeURIComponent(String(record.id))}/sessions/revoke`, {
              method: 'POST',
              json: { reason: 'revoked by security from the console' },
            });
            notify(`${r?.ended ?? 0} session(s) ended`, { type: 'success' });
          } catch (err) {
            notify(errorMessage(err, 'Could not revoke'), { type: 'error' });
          }
          refresh();
        }}
      />
    </>
  );
}

export default function EmployeeList() {
  return (
    <List
      title="Employees"
      exporter={false}
      error={<ListError />}
      sort={{ field: 'displayName', order: 'ASC' }}
      empty={<EmptyState title="No employees provisioned yet" />}
    >
      <DataTable bulkActionButtons={false} rowClick={false}>
        <DataTable.Col source="displayName" label="Name" />
        <DataTable.Col source="email" />
        <DataTable.Col source="employeeRole" label="Role">
          <FunctionField render={(r: RaRecord) => r.employeeRole ?? r.role} />
        </DataTable.Col>
        <DataTable.Col label="TOTP" disableSort>
          <FunctionField render={(r: RaRecord) => <TotpChip record={r} />} />
        </DataTable.Col>
        <DataTable.Col source="lastLoginAt" label="Last sign-in">
          <LocalDate source="lastLoginAt" emptyText="never" />
        </DataTable.Col>
        <DataTable.Col source="activeSessions" label="Sessions" disableSort />
        <DataTable.Col label="" disableSort>
          <FunctionField render={(r: RaRecord) => <RevokeSessions record={r} />} />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
