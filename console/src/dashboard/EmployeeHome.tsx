import { Box, Card, CardActionArea, CardContent, Typography } from '@mui/material';
import { Title, useCreatePath } from 'react-admin';
import { Link } from 'react-router-dom';

const TILES: Record<string, { to: string; title: string; text: string }[]> = {
  support: [
    {
      to: '/support-sessions/create',
      title: 'Open a workspace for a ticket',
      text: 'Time-boxed, redacted, with your reason in the customer’s audit log.',
    },
    { to: '/support/browse', title: 'Browse (redacted)', text: 'The workspace you opened, masked by the database.' },
    { to: '/db-sessions', title: 'Database sessions', text: 'Request a redacted database session.' },
  ],
  engineer: [
    {
      to: '/db-sessions/create',
      title: 'Request a database session',
      text: 'Scope, duration and reason; full scope needs security’s approval.',
    },
    { to: '/db-sessions', title: 'My sessions', text: 'Approval state and the connection command.' },
  ],
  security: [
    { to: '/approvals', title: 'Pending approvals', text: 'Approve or deny full-scope requests.' },
    { to: '/db-sessions', title: 'Active sessions', text: 'Revoke a session; the connection closes within seconds.' },
    { to: '/platform-audit', title: 'Platform audit log', text: 'Sign-ins, TOTP, approvals, sessions.' },
    { to: '/employees', title: 'Employees', text: 'Who is enrolled in TOTP.' },
  ],
};

export function EmployeeHome({ role, name }: { role?: string; name: string }) {
  useCreatePath();
  const tiles = TILES[role ?? ''] ?? [];
  return (
    <Box sx={{ p: 2 }}>
      <Title title="Home" />
      <Typography variant="h5" component="h1" gutterBottom>
        Welcome, {name} {role ? `(${role})` : ''}
      </Typography>
      <Box sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(260px, 1fr))', gap: 2 }}>
        {tiles.map((t) => (
          <Card key={t.to}>
            <CardActionArea component={Link} to={t.to}>
              <CardContent>
                <Typography variant="h6">{t.title}</Typography>
                <Typography variant="body2" color="text.secondary">
                  {t.text}
                </Typography>
              </CardContent>
            </CardActionArea>
          </Card>
        ))}
      </Box>
    </Box>
  );
}
