/* eslint-disable @typescript-eslint/no-explicit-any -- loosely shaped broker JSON, read field by field with fallbacks */
import { useEffect, useState } from 'react';
import { Alert, Box, Button, Card, CardContent, CircularProgress, Link, List, ListItem, TextField, Typography } from '@mui/material';
import { httpClient } from '../http/httpClient.ts';
import { authProvider } from '../authProvider.ts';
import { AUTH_PATHS } from '../auth/session.ts';
import { errorMessage } from '../common/errors.ts';

interface Enrollment {
  otpauthUri?: string;
  qrCode?: string;
  secret?: string;
  recoveryCodes?: string[];
}

function pickEnrollment(json: any): Enrollment {
  return {
    otpauthUri: json?.otpauthUri ?? json?.otpauthUrl ?? json?.uri,
    qrCode: json?.qrCode ?? json?.qrCodeDataUrl ?? json?.qr ?? json?.qrDataUrl,
    secret: json?.secret,
    recoveryCodes: json?.recoveryCodes,
  };
}

function goHome() {
  authProvider.state.invalidate();
  authProvider.state.stepUp = false;
  window.location.assign('/#/');
}

/** Second factor for employees: enrollment (QR code, then recovery codes) on first login, a code on every later one. */
export default function TotpPage() {
  const [mode, setMode] = useState<'loading' | 'enroll' | 'verify' | 'recovery-codes' | 'relogin' | 'error'>('loading');
  const [enrollment, setEnrollment] = useState<Enrollment>({});
  const [code, setCode] = useState('');
  const [useRecovery, setUseRecovery] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const me = await authProvider.state.load(true);
        if (cancelled) return;
        if (!me) return window.location.assign('/#/login');
        // A signed-in customer whose workspace now requires TOTP steps up: enrol now, or (already
        // enrolled) sign in again so the code is asked right after SSO.
        const stepUp = me.totp === 'ok' && authProvider.state.stepUp && me.mfa === false;
        if (me.totp === 'ok' && !stepUp) return goHome();
        if (stepUp && me.totpEnrolled) return setMode('relogin');
        if (me.totp === 'enroll' || stepUp) {
          const { json } = await httpClient(AUTH_PATHS.totpEnroll, { method: 'POST', body: '{}' });
          if (!cancelled) {
            setEnrollment(pickEnrollment(json));
            setMode('enroll');
          }
        } else setMode('verify');
      } catch (err) {
        if (!cancelled) {
          setError(errorMessage(err, 'Could not start the second factor.'));
          setMode('error');
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'enroll') {
        const { json } = await httpClient(AUTH_PATHS.totpConfirm, { method: 'POST', body: JSON.stringify({ code: code.trim() }) });
        const codes = json?.recoveryCodes ?? enrollment.recoveryCodes;
        if (Array.isArray(codes) && codes.length) {
          setEnrollment({ ...enrollment, recoveryCodes: codes });
          setMode('recovery-codes');
        } else goHome();
      } else {
        const path = useRecovery ? AUTH_PATHS.totpRecover : AUTH_PATHS.totpVerify;
        const body = useRecovery ? { recoveryCode: code.trim() } : { code: code.trim() };
        await httpClient(path, { method: 'POST', body: JSON.stringify(body) });
        goHome();
      }
    } catch (err) {
      setError(errorMessage(err, 'That code was not accepted.'));
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box component="main" sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', bgcolor: '#eef3f1' }}>
      <Card sx={{ width: 440 }}>
        <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
          <Typography variant="h5" component="h1">
            {mode === 'enroll'
              ? 'Set up your authenticator'
              : mode === 'recovery-codes'
                ? 'Save your recovery codes'
                : 'Two-step verification'}
          </Typography>
          {mode === 'loading' && <CircularProgress aria-label="Loading" />}
          {mode === 'error' && <Alert severity="error">{error}</Alert>}
          {mode === 'relogin' && (
            <>
              <Alert severity="info">This workspace requires your authenticator code. Sign in again to enter it.</Alert>
              <Button
                variant="contained"
                onClick={async () => {
                  await httpClient(AUTH_PATHS.logout, { method: 'POST', body: '{}' }).catch(() => undefined);
                  window.location.assign(`${AUTH_PATHS.login}?return_to=%2F`);
                }}
              >
                Sign in again
              </Button>
            </>
          )}
          {mode === 'enroll' && (
            <>
              <Typography variant="body2">
                Scan this QR code with your authenticator app (30-second, 6-digit codes), then enter the code it shows.
              </Typography>
              {enrollment.qrCode ? (
                <Box
                  component="img"
                  src={
                    enrollment.qrCode.startsWith('data:') || enrollment.qrCode.startsWith('/')
                      ? enrollment.qrCode
                      : `data:image/png;base64,${enrollment.qrCode}`
                  }
                  alt="QR code for your authenticator app"
                  sx={{ width: 200, height: 200, alignSelf: 'center' }}
                />
              ) : null}
              {enrollment.secret && (
                <Typography variant="body2">
                  Or type this key: <code data-testid="totp-secret">{enrollment.secret}</code>
                </Typography>
              )}
              {enrollment.otpauthUri && (
                <Typography variant="caption" sx={{ wordBreak: 'break-all' }}>
                  <Link href={enrollment.otpauthUri}>Open in an authenticator on this device</Link>
                </Typography>
              )}
            </>
          )}
          {mode === 'recovery-codes' && (
            <>
              <Alert severity="warning">Each code works once if you lose your authenticator. They will not be shown again.</Alert>
              <List dense data-testid="recovery-codes" sx={{ columns: 2, fontFamily: 'monospace' }}>
                {enrollment.recoveryCodes?.map((c) => (
                  <ListItem key={c} sx={{ fontFamily: 'monospace' }}>
                    {c}
                  </ListItem>
                ))}
              </List>
              <Button variant="contained" onClick={goHome} autoFocus>
                I have saved them — continue
              </Button>
            </>
          )}
          {(mode === 'enroll' || mode === 'verify') && (
            <form onSubmit={submit} style={{ display: 'flex', flexDirection: 'column', gap: 16 }}>
              <TextField
                label={useRecovery ? 'Recovery code' : 'Authentication code'}
                value={code}
                onChange={(e) => setCode(e.target.value)}
                autoFocus
                autoComplete="one-time-code"
                slotProps={{ htmlInput: useRecovery ? {} : { inputMode: 'numeric', pattern: '[0-9 ]*', maxLength: 7 } }}
                error={!!error}
                helperText={error}
                required
              />
              <Button type="submit" variant="contained" disabled={busy || code.trim().length < 6}>
                {mode === 'enroll' ? 'Confirm and enable' : 'Verify'}
              </Button>
              {mode === 'verify' && (
                <Button size="small" onClick={() => setUseRecovery(!useRecovery)}>
                  {useRecovery ? 'Use the authenticator app' : 'Use a recovery code instead'}
                </Button>
              )}
            </form>
          )}
        </CardContent>
      </Card>
    </Box>
  );
}
