import { lazy } from 'react';
import { Navigate } from 'react-router-dom';
import { Loading, useGetIdentity } from 'react-admin';
import { EmployeeHome } from './EmployeeHome.tsx';

const CustomerDashboard = lazy(() => import('./CustomerDashboard.tsx'));

/** `/`: employees get their worklist; a customer without a workspace starts the setup wizard. */
export default function Home() {
  const { identity, isPending } = useGetIdentity();
  if (isPending || !identity) return <Loading />;
  if (identity.kind === 'employee') return <EmployeeHome role={identity.employeeRole} name={String(identity.fullName ?? '')} />;
  if (!identity.workspaces?.length) return <Navigate to="/setup" replace />;
  return <CustomerDashboard />;
}
