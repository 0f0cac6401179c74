import { useEffect } from 'react';
import { Chip } from '@mui/material';
import TimerIcon from '@mui/icons-material/Timer';
import { formatCountdown, setSupportSession, useSecondsLeft, useSupportSession } from './supportSession.ts';

/** The support session's remaining time, always visible in the app bar while one is open. */
export function SupportCountdown() {
  const session = useSupportSession();
  const left = useSecondsLeft(session?.expiresAt);
  useEffect(() => {
    if (session && left === 0) setSupportSession(undefined);
  }, [session, left]);
  if (!session) return null;
  return (
    <Chip
      icon={<TimerIcon />}
      color={left < 60 ? 'warning' : 'default'}
      sx={{ bgcolor: left < 60 ? undefined : 'rgba(255,255,255,0.9)' }}
      role="timer"
      aria-live="off"
      aria-label={`Support session on ${session.workspaceName ?? session.workspaceId} ends in ${formatCountdown(left)}`}
      label={`${session.workspaceName ?? session.workspaceId.slice(0, 8)} · ${formatCountdown(left)} left`}
      data-testid="support-countdown"
    />
  );
}
