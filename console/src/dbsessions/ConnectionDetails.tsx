import { useState } from 'react';
import { Box, Button, Stack, Typography } from '@mui/material';
import ContentCopyIcon from '@mui/icons-material/ContentCopy';
import DownloadIcon from '@mui/icons-material/Download';
import KeyIcon from '@mui/icons-material/Key';
import { CopyField, copyText } from '../common/SecretOnce.tsx';
import { CA_FILE, commandOf, type ConnectionInfo } from '../dataProvider/connections.ts';

/**
 * The safe form of a session's connection details: a psql command that holds no secret and
 * verifies the gateway's certificate, the CA to save for it, and the token behind a copy button
 * (pasted at psql's password prompt). The token is never rendered and never part of a URL or a
 * command: those end up in shell history, `ps`, screenshots and screen shares.
 */
export function ConnectionDetails({ info, sessionId }: { info: ConnectionInfo; sessionId: string }) {
  const [copied, setCopied] = useState<boolean | undefined>(undefined);
  const command = commandOf(info);
  if (!command || !info.password) return null;
  const pem = info.sslrootcert ?? undefined;
  return (
    <Stack data-testid="connection-command" spacing={1.5} sx={{ maxWidth: 760 }}>
      <CopyField label="psql command (no secret in it)" value={command} multiline />
      {pem && (
        <Box>
          <CopyField label={`Gateway CA certificate: save as ${CA_FILE}`} value={pem} multiline />
          <Button
            size="small"
            startIcon={<DownloadIcon />}
            href={`data:application/x-pem-file;charset=utf-8,${encodeURIComponent(pem)}`}
            download="gateway-ca.crt"
          >
            Download CA certificate
          </Button>
          {info.caFingerprint && (
            <Typography variant="caption" sx={{ display: 'block' }}>
              CA SHA-256 fingerprint: <code>{info.caFingerprint}</code>
            </Typography>
          )}
        </Box>
      )}
      <Box>
        <Button
          variant="outlined"
          startIcon={copied ? <ContentCopyIcon /> : <KeyIcon />}
          onClick={async () => setCopied(await copyText(info.password!))}
        >
          {copied ? 'Session token copied' : 'Copy session token'}
        </Button>
        {copied === false && (
          <Typography variant="caption" color="error" sx={{ display: 'block' }}>
            The browser refused the clipboard: use wact db connect --session {sessionId} instead.
          </Typography>
        )}
      </Box>
      <Typography variant="caption">
        psql asks for the password: paste the session token there. It stops working when the session ends and is not shown again. From a
        terminal, <code>wact db connect --session {sessionId}</code> does all of this for you (it issues a new token).
      </Typography>
    </Stack>
  );
}
