import { Box, Typography } from '@mui/material';
import { Title, useCanAccess, Loading } from 'react-admin';
import { RetentionCard } from './RetentionCard.tsx';
import { DeletionCard } from './DeletionCard.tsx';
import { WipeCard } from './WipeCard.tsx';
import { SecurityCard } from './SecurityCard.tsx';

export default function DataSettings() {
  const settings = useCanAccess({ resource: 'settings', action: 'list' });
  const deletion = useCanAccess({ resource: 'settings', action: 'deletion' });
  const wipe = useCanAccess({ resource: 'settings', action: 'wipe' });
  if (settings.isPending) return <Loading />;
  if (!settings.canAccess) {
    return (
      <Box sx={{ p: 3 }} role="alert">
        <Title title="Settings" />
        <Typography>Only owners and admins manage data settings.</Typography>
      </Box>
    );
  }
  return (
    <Box sx={{ p: 2, display: 'flex', flexDirection: 'column', gap: 2 }}>
      <Title title="Settings → Data" />
      <RetentionCard />
      <SecurityCard />
      {deletion.canAccess && <DeletionCard />}
      {wipe.canAccess && <WipeCard />}
    </Box>
  );
}
