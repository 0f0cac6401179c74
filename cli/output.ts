import { ZodError } from 'zod';

/** Prints a command's result: JSON with --json, otherwise a readable form. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  if (json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write(human() + '\n');
}

/** Prints a failure in one line and sets a non-zero exit code. */
export function printFailure(err: unknown): void {
  const message =
    err instanceof ZodError
      ? `invalid input: ${err.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`
      : err instanceof Error
        ? err.message
        : String(err);
  process.stderr.write(`wact: ${message}\n`);
  process.exitCode = 1;
}
