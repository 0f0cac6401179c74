import type { ReactNode } from 'react';
import { AppBar, Layout as RaLayout, TitlePortal } from 'react-admin';
import { Box } from '@mui/material';
import { Menu } from './Menu.tsx';
import { WorkspaceSwitcher } from './WorkspaceSwitcher.tsx';
import { SupportCountdown } from '../support/SupportCountdown.tsx';
import { AccessNotifications } from './AccessNotifications.tsx';
import { KeyUnavailableBanner } from './KeyUnavailableBanner.tsx';

function WactAppBar() {
  return (
    <AppBar>
      <TitlePortal />
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2, mr: 1 }}>
        <SupportCountdown />
        <AccessNotifications />
        <WorkspaceSwitcher />
      </Box>
    </AppBar>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  return (
    <RaLayout appBar={WactAppBar} menu={Menu}>
      <KeyUnavailableBanner />
      {children}
    </RaLayout>
  );
}
