import { useState } from 'react';
import { Box, Button, Card, CardContent, CircularProgress, Typography } from '@mui/material';
import LoginIcon from '@mui/icons-material/Login';
import { useLogin } from 'react-admin';

/** Sign-in is single sign-on only: the button hands over to the broker, which sends the browser to the issuer. */
export function LoginPage() {
  const login = useLogin();
  const [leaving, setLeaving] = useState(false);
  return (
    <Box component="main" sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', bgcolor: '#eef3f1' }}>
      <Card sx={{ width: 380 }}>
        <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
          <Typography variant="h5" component="h1">
            WAct console
          </Typography>
          <Typography variant="body2" color="text.secondary">
            Sign in with your company account. Employees confirm with their authenticator app afterwards.
          </Typography>
          <Button
            variant="contained"
            size="large"
            startIcon={leaving ? <CircularProgress size={18} color="inherit" /> : <LoginIcon />}
            disabled={leaving}
            autoFocus
            onClick={() => {
              setLeaving(true);
              void login({ returnTo: '/' }).catch(() => setLeaving(false));
            }}
          >
            Sign in with SSO
          </Button>
        </CardContent>
      </Card>
    </Box>
  );
}
