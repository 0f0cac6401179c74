import type { Page } from 'playwright-core';
import { generate } from 'otplib';
import type { DevIdentity } from '../../../broker/dev-oidc/dev-identities.ts';

/** Signs in through the console: SSO button → dev provider's login form → back in the console. */
export async function signInThroughConsole(page: Page, brokerUrl: string, id: DevIdentity): Promise<void> {
  await page.goto(`${brokerUrl}/`);
  await page.getByRole('button', { name: 'Sign in with SSO' }).click();
  await page.locator('input[name=email]').fill(id.email);
  await page.locator('input[name=password]').fill(id.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.origin === new URL(brokerUrl).origin && !u.pathname.startsWith('/auth/'), { timeout: 15_000 });
}

/** A TOTP code for a secret, never reusing a time step already used (the broker refuses replays). */
export function totpCodes(secret: string) {
  let lastStep = 0;
  return async (): Promise<string> => {
    const step = Math.max(Math.floor(Date.now() / 30_000), lastStep + 1);
    while (step > Math.floor(Date.now() / 30_000) + 1) await new Promise((r) => setTimeout(r, 500));
    lastStep = step;
    return generate({ secret, epoch: step * 30 });
  };
}

/** First employee login: enrol with the QR page's key, confirm, see the recovery codes, continue. */
export async function enrolTotpInConsole(
  page: Page,
): Promise<{ secret: string; recoveryCodes: string[]; nextCode: () => Promise<string> }> {
  await page.getByRole('heading', { name: 'Set up your authenticator' }).waitFor();
  await page.getByAltText('QR code for your authenticator app').waitFor();
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  const nextCode = totpCodes(secret);
  await page.getByLabel('Authentication code').fill(await nextCode());
  await page.getByRole('button', { name: 'Confirm and enable' }).click();
  await page.getByTestId('recovery-codes').waitFor();
  const recoveryCodes = (await page.getByTestId('recovery-codes').locator('li').allTextContents()).map((s) => s.trim());
  await page.getByRole('button', { name: /I have saved them/ }).click();
  // Back home with the full session: wait for it, so a following navigation is not overtaken.
  await page.waitForURL((u) => u.hash === '#/');
  await page.locator('.RaSidebar-fixed').waitFor();
  return { secret, recoveryCodes, nextCode };
}
