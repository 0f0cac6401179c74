import { Menu as RaMenu, useCanAccess, useGetIdentity } from 'react-admin';
import SettingsIcon from '@mui/icons-material/Settings';
import RocketLaunchIcon from '@mui/icons-material/RocketLaunch';
import DashboardIcon from '@mui/icons-material/Dashboard';
import SearchIcon from '@mui/icons-material/ManageSearch';
import { Divider } from '@mui/material';

/** Only what the role may reach: react-admin asks `canAccess` for each resource. */
const CUSTOMER_RESOURCES = [
  'conversations',
  'clicks',
  'conversions',
  'links',
  'api-keys',
  'credentials',
  'members',
  'audit',
  'wact-access',
];
const EMPLOYEE_RESOURCES = ['support-sessions', 'db-sessions', 'approvals', 'platform-audit', 'employees'];

function Item({ resource }: { resource: string }) {
  const { canAccess, isPending } = useCanAccess({ resource, action: 'list' });
  if (isPending || !canAccess) return null;
  return <RaMenu.ResourceItem name={resource} />;
}

function Guarded({ resource, action, children }: { resource: string; action: string; children: React.ReactNode }) {
  const { canAccess, isPending } = useCanAccess({ resource, action });
  if (isPending || !canAccess) return null;
  return <>{children}</>;
}

export function Menu() {
  const { identity } = useGetIdentity();
  const employee = identity?.kind === 'employee';
  return (
    <RaMenu>
      {employee ? (
        <>
          <RaMenu.Item to="/" primaryText="Home" leftIcon={<DashboardIcon />} />
          {EMPLOYEE_RESOURCES.map((r) => (
            <Item key={r} resource={r} />
          ))}
          <Guarded resource="support-sessions" action="list">
            <RaMenu.Item to="/support/browse" primaryText="Browse (redacted)" leftIcon={<SearchIcon />} />
          </Guarded>
        </>
      ) : (
        <>
          <Guarded resource="dashboard" action="list">
            <RaMenu.DashboardItem />
          </Guarded>
          {CUSTOMER_RESOURCES.map((r) => (
            <Item key={r} resource={r} />
          ))}
          <Guarded resource="settings" action="list">
            <RaMenu.Item to="/settings/data" primaryText="Settings → Data" leftIcon={<SettingsIcon />} />
          </Guarded>
          <Divider />
          <Guarded resource="setup" action="create">
            <RaMenu.Item to="/setup" primaryText="New workspace" leftIcon={<RocketLaunchIcon />} />
          </Guarded>
        </>
      )}
    </RaMenu>
  );
}
