import { useEffect, useState } from 'react';
import { Accordion, AccordionDetails, AccordionSummary, Alert, Typography } from '@mui/material';
import ExpandMoreIcon from '@mui/icons-material/ExpandMore';
import { httpClient } from '../http/httpClient.ts';
import { CopyField } from '../common/SecretOnce.tsx';
import { errorMessage } from '../common/errors.ts';

export const AUDIT_KEYS_PATH = '/.well-known/wact-audit-keys';

/** How a customer checks an export on their own machine, and the public key it needs. */
export function VerifyPanel() {
  const [keys, setKeys] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    httpClient(AUDIT_KEYS_PATH)
      .then(({ body }) => setKeys(body))
      .catch((err) => setError(errorMessage(err, 'unavailable')));
  }, []);
  return (
    <Accordion sx={{ mb: 2 }}>
      <AccordionSummary expandIcon={<ExpandMoreIcon />}>
        <Typography>Verify an export offline</Typography>
      </AccordionSummary>
      <AccordionDetails sx={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
        <Typography variant="body2">
          Every event carries the SHA-256 of its canonical form and of the previous event, and the chain heads are signed with Ed25519. Save
          the public keys below (<code>{AUDIT_KEYS_PATH}</code>) next to the export and run:
        </Typography>
        <CopyField label="Command" value="npx wact audit verify audit-export.jsonl --keys wact-audit-keys.json" />
        <Typography variant="body2">
          It recomputes the chain, checks the signatures, and names any event that is missing, altered, reordered or inserted.
        </Typography>
        {error ? (
          <Alert severity="warning">Public keys unavailable: {error}</Alert>
        ) : keys ? (
          <CopyField label="Public keys (JSON)" value={keys} multiline />
        ) : null}
      </AccordionDetails>
    </Accordion>
  );
}
