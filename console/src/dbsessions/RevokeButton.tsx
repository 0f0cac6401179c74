import { useState } from 'react';
import { Button } from '@mui/material';
import BlockIcon from '@mui/icons-material/Block';
import { Confirm, useCanAccess, useDataProvider, useNotify, useRefresh, type RaRecord } from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { DB_PATHS } from './paths.ts';
import { errorMessage } from '../common/errors.ts';

export function RevokeButton({ record }: { record: RaRecord }) {
  const { canAccess } = useCanAccess({ resource: 'db-sessions', action: 'revoke' });
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const refresh = useRefresh();
  const [open, setOpen] = useState(false);
  if (!canAccess || record.status !== 'active') return null;
  return (
    <>
      <Button size="small" color="error" startIcon={<BlockIcon />} onClick={(e) => (e.stopPropagation(), setOpen(true))}>
        Revoke
      </Button>
      <Confirm
        isOpen={open}
        title="Revoke this session?"
        content="The live connection is closed with “session revoked” and the session role is dropped."
        onConfirm={async () => {
          setOpen(false);
          try {
            await dataProvider.call(DB_PATHS.revoke(record.id), { method: 'POST', json: {} });
            notify('Session revoked', { type: 'success' });
          } catch (err) {
            notify(errorMessage(err, 'Could not revoke'), { type: 'error' });
          }
          refresh();
        }}
        onClose={() => setOpen(false)}
      />
    </>
  );
}
