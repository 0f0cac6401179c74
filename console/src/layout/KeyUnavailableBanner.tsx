import { useEffect, useState } from 'react';
import { Alert, AlertTitle } from '@mui/material';

export const KEY_UNAVAILABLE_CODE = 'customer_key_unavailable';

/**
 * Shown when the broker answers `customer_key_unavailable` (503): the
 * workspace's own KMS key was disabled, its grant revoked or it was deleted at
 * the customer's end. Nothing is lost; it says what to do, and goes away by
 * itself once a request succeeds again after the key is re-enabled (a reload).
 */
export function KeyUnavailableBanner() {
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    const onError = (e: Event) => {
      const detail = (e as CustomEvent<{ code?: string; message?: string }>).detail;
      if (detail?.code === KEY_UNAVAILABLE_CODE) setMessage(detail.message ?? null);
    };
    window.addEventListener('wact:api-error', onError);
    return () => window.removeEventListener('wact:api-error', onError);
  }, []);
  if (message === null) return null;
  return (
    <Alert severity="error" role="alert" sx={{ m: 1 }} data-testid="customer-key-unavailable">
      <AlertTitle>Your encryption key is unavailable</AlertTitle>
      WAct cannot read or write this workspace’s data because the customer-managed AWS KMS key that protects it is disabled, its access for
      WAct was revoked, or it is scheduled for deletion. Nothing has been lost: re-enable the key (or restore WAct’s kms:Encrypt and
      kms:Decrypt permission) in your AWS account, then reload this page.
    </Alert>
  );
}
