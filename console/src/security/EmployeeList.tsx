import { Chip } from '@mui/material';
import { DataTable, FunctionField, List, type RaRecord } from 'react-admin';
import { EmptyState } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';

function TotpChip({ record }: { record: RaRecord }) {
  const t = record.totp ?? {};
  const enrolled = record.totpEnrolled ?? t.enrolled;
  const locked = record.totpLocked ?? t.locked ?? (t.lockedUntil && Date.parse(t.lockedUntil) > Date.now());
  if (locked) return <Chip size="small" color="error" label="locked" />;
  return enrolled ? <Chip size="small" color="success" label="enrolled" /> : <Chip size="small" color="warning" label="not enrolled" />;
}

export default function EmployeeList() {
  return (
    <List title="Employees" exporter={false} sort={{ field: 'displayName', order: 'ASC' }} empty={<EmptyState title="No employees provisioned yet" />}>
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
      </DataTable>
    </List>
  );
}
