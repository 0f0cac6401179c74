/** The message to show for a failed call (the broker's `{ error: { message } }` is already the Error's message). */
export function errorMessage(err: unknown, fallback: string): string {
  return err instanceof Error && err.message ? err.message : typeof err === 'string' && err ? err : fallback;
}
