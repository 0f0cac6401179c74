import { lazy } from 'react';
import { Admin, CustomRoutes, Resource, localStorageStore, memoryStore } from 'react-admin';
import { Route } from 'react-router-dom';
import { authProvider } from './authProvider.ts';
import { dataProvider } from './dataProvider/index.ts';
import { Layout } from './layout/Layout.tsx';
import { LoginPage } from './login/LoginPage.tsx';
import { theme } from './layout/theme.ts';
import { guarded } from './common/guard.tsx';
import conversations from './conversations/index.ts';
import clicks from './clicks/index.ts';
import conversions from './conversions/index.ts';
import links from './links/index.ts';
import apikeys from './apikeys/index.ts';
import credentials from './credentials/index.ts';
import members from './members/index.ts';
import audit from './audit/index.ts';
import wactAccess from './wactaccess/index.ts';
import supportSessions from './support/index.ts';
import dbSessions from './dbsessions/index.ts';
import approvals from './security/approvals.ts';
import platformAudit from './security/platformAudit.ts';
import employees from './security/employees.ts';

// Every screen is its own chunk: the first load carries only the shell and the sign-in.
const Home = lazy(() => import('./dashboard/Home.tsx'));
const TotpPage = lazy(() => import('./login/TotpPage.tsx'));
const SetupWizard = guarded('create', () => import('./setup/SetupWizard.tsx'), 'setup');
const DataSettings = lazy(() => import('./settings/DataSettings.tsx'));
const SupportBrowse = guarded('list', () => import('./support/SupportBrowse.tsx'), 'support-conversations');

// Preferences (column choices, sidebar) only; nothing secret goes to the store.
const store = typeof localStorage === 'undefined' ? memoryStore() : localStorageStore(undefined, 'wact');

export function App() {
  return (
    <Admin
      title="WAct"
      dataProvider={dataProvider}
      authProvider={authProvider}
      loginPage={LoginPage}
      dashboard={Home}
      layout={Layout}
      theme={theme}
      store={store}
      requireAuth
      disableTelemetry
    >
      <Resource name="conversations" {...conversations} />
      <Resource name="clicks" {...clicks} />
      <Resource name="conversions" {...conversions} />
      <Resource name="links" {...links} />
      <Resource name="api-keys" {...apikeys} options={{ label: 'API keys' }} />
      <Resource name="credentials" {...credentials} />
      <Resource name="members" {...members} />
      <Resource name="audit" {...audit} options={{ label: 'Audit log' }} />
      <Resource name="wact-access" {...wactAccess} options={{ label: 'WAct access' }} />
      <Resource name="support-sessions" {...supportSessions} options={{ label: 'Support sessions' }} />
      <Resource name="db-sessions" {...dbSessions} options={{ label: 'Database sessions' }} />
      <Resource name="approvals" {...approvals} options={{ label: 'Approvals' }} />
      <Resource name="platform-audit" {...platformAudit} options={{ label: 'Platform audit' }} />
      <Resource name="employees" {...employees} options={{ label: 'Employees' }} />
      <CustomRoutes noLayout>
        <Route path="/totp" element={<TotpPage />} />
      </CustomRoutes>
      <CustomRoutes>
        <Route path="/setup" element={<SetupWizard />} />
        <Route path="/settings/data" element={<DataSettings />} />
        <Route path="/support/browse" element={<SupportBrowse />} />
      </CustomRoutes>
    </Admin>
  );
}
