import { useState } from 'react';
import { Badge, IconButton, Menu, MenuItem, Tooltip, Typography } from '@mui/material';
import NotificationsIcon from '@mui/icons-material/Notifications';
import { useCanAccess, useDataProvider, useRedirect } from 'react-admin';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { formatLocal } from '../common/Dates.tsx';

interface Notification {
  id: number;
  sessionId: string;
  kind: string;
  message: string;
  createdAt: string;
  readAt: string | null;
}

/** Employees hear about their access requests (approved, denied, revoked, expired) here. */
export function AccessNotifications() {
  const { canAccess } = useCanAccess({ resource: 'db-sessions', action: 'list' });
  const dataProvider = useDataProvider<WactDataProvider>();
  const queryClient = useQueryClient();
  const redirect = useRedirect();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const { data } = useQuery({
    queryKey: ['access-notifications'],
    queryFn: async () => (await dataProvider.call('/api/db/notifications?unread=true')) as Notification[],
    enabled: !!canAccess,
    refetchInterval: 15_000,
  });
  if (!canAccess) return null;
  const unread = data ?? [];
  const open = async (n: Notification) => {
    setAnchor(null);
    await dataProvider.call('/api/db/notifications/read', { method: 'POST', json: { ids: [n.id] } }).catch(() => undefined);
    await queryClient.invalidateQueries({ queryKey: ['access-notifications'] });
    redirect('show', 'db-sessions', n.sessionId);
  };
  return (
    <>
      <Tooltip title="Access notifications">
        <IconButton color="inherit" aria-label={`${unread.length} unread access notifications`} onClick={(e) => setAnchor(e.currentTarget)}>
          <Badge badgeContent={unread.length} color="error">
            <NotificationsIcon />
          </Badge>
        </IconButton>
      </Tooltip>
      <Menu anchorEl={anchor} open={!!anchor} onClose={() => setAnchor(null)}>
        {unread.length === 0 && <MenuItem disabled>No new notifications</MenuItem>}
        {unread.map((n) => (
          <MenuItem key={n.id} onClick={() => void open(n)} sx={{ whiteSpace: 'normal', maxWidth: 420, display: 'block' }}>
            <Typography variant="body2">{n.message}</Typography>
            <Typography variant="caption" color="text.secondary">
              {formatLocal(n.createdAt)}
            </Typography>
          </MenuItem>
        ))}
      </Menu>
    </>
  );
}
