import { useEffect, useState } from 'react';
import { Accordion, AccordionDetails, AccordionSummary, Alert, Typography } from '@mui/material';
import ExpandMoreIcon from '@mui/icons-material/ExpandMore';
import { useCanAccess } from 'react-admin';
import { httpClient } from '../http/httpClient.ts';
import { CopyField } from '../common/SecretOnce.tsx';
import { errorMessage } from '../common/errors.ts';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';
import { DigestFiles, PublishedKeysTable, type PublishedKey } from './AuditKeys.tsx';

export const AUDIT_KEYS_PATH = '/.well-known/wact-audit-keys';

/** How a customer checks an export on their own machine, and the public keys it needs. */
export function VerifyPanel() {
  const [keys, setKeys] = useState<{ text: string; list: PublishedKey[] } | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    httpClient(AUDIT_KEYS_PATH)
      .then(({ body, json }) => setKeys({ text: body, list: Array.isArray(json?.keys) ? (json.keys as PublishedKey[]) : [] }))
      .catch((err) => setError(errorMessage(err, 'unavailable')));
  }, []);
  return (
    <Accordion sx={{ mb: 2 }}>
      <AccordionSummary expandIcon={<ExpandMoreIcon />}>
        <Typography>Verify an export offline (signing keys)</Typography>
      </AccordionSummary>
      <AccordionDetails sx={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
        <Typography variant="body2">
          Every event carries the SHA-256 of its canonical form and of the previous event; chain heads, each export&apos;s header and the
          digest files are signed by a key held outside WAct&apos;s databases (AWS KMS in production). Save the public keys (
          <code>{AUDIT_KEYS_PATH}</code>) next to the export, check their fingerprints against the table below, and run:
        </Typography>
        <CopyField label="Command" value="npx wact audit verify audit-export.jsonl --keys wact-audit-keys.json" />
        <Typography variant="body2">
          It exits non-zero unless the whole file is proven: every event chains, both ends are covered by signed heads and the header is
          signed by a published key valid at the time it signed. Retired keys stay listed so older exports keep verifying.
        </Typography>
        {error ? (
          <Alert severity="warning">Public keys unavailable: {error}</Alert>
        ) : keys ? (
          <>
            <PublishedKeysTable keys={keys.list} />
            <CopyField label="Public keys (JSON)" value={keys.text} multiline />
          </>
        ) : null}
      </AccordionDetails>
    </Accordion>
  );
}

/** The digest files of the workspace (owners and admins: the broker's audit.export permission). */
export function DigestPanel() {
  const { canAccess } = useCanAccess({ resource: 'audit', action: 'export' });
  const ws = useWorkspaceId();
  if (!canAccess || !ws) return null;
  return (
    <Accordion sx={{ mb: 2 }} slotProps={{ transition: { unmountOnExit: true } }}>
      <AccordionSummary expandIcon={<ExpandMoreIcon />}>
        <Typography>Digest files (hourly signed witness)</Typography>
      </AccordionSummary>
      <AccordionDetails>
        <DigestFiles workspaceId={ws} />
      </AccordionDetails>
    </Accordion>
  );
}
