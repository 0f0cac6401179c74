import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { operatorActor, withOperator } from '../operator.ts';
import { printResult } from '../output.ts';
import { workspaceInput } from '../../shared/workspaces/workspace-service.ts';
import { customerKeyArn } from '../../shared/crypto/workspace-kek.ts';
import type { ReencryptReport } from '../../shared/crypto/reencrypt-service.ts';
import { cliMode } from '../mode.ts';
import { brokerRequest } from './identity.ts';
import { readStdinLine } from './lifecycle.ts';
import { followJob, statusPath } from '../job-progress.ts';

const wsPath = (id: string, rest: string) => `/api/workspaces/${encodeURIComponent(id)}${rest}`;

interface StepUpOptions {
  totp?: string;
  recoveryCode?: string;
  reason?: string;
}

/** Production: the owner's step-up and reason, as the console asks for them (the broker checks them). */
async function stepUpBody(o: StepUpOptions): Promise<StepUpOptions> {
  return { totp: o.totp === '-' ? await readStdinLine() : o.totp, recoveryCode: o.recoveryCode, reason: o.reason };
}

/** --totp / --recovery-code / --reason on the key commands. */
function withStepUpOptions(cmd: Command): Command {
  return cmd
    .option('--totp <code>', 'production: a current TOTP code (owner step-up, as in the console); "-" reads it from stdin')
    .option('--recovery-code <code>', 'production: a recovery code instead of --totp')
    .option('--reason <text>', 'why (recorded in the audit log)');
}

export function registerWorkspaceCommands(program: Command): void {
  const ws = program.command('workspace').description('workspace directory (operator)');

  ws.command('create')
    .description('create a workspace with its keys in its region')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--region <region>', 'eu or us (fixed for the workspace’s lifetime)')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; region: string; json?: boolean }) => {
      const input = workspaceInput.parse({ name: opts.name, region: opts.region }); // before touching a database
      // Production: the console's setup route, as the signed-in person (who becomes its owner).
      const created =
        cliMode() === 'broker'
          ? await brokerRequest<{ id: string; name: string; region: string }>('POST', '/api/workspaces', input)
          : await withOperator((p) => p.workspaces.create(input, operatorActor()));
      printResult(!!opts.json, created, () => `created workspace ${created.id} (${created.name}, region ${created.region})`);
    });

  ws.command('list')
    .description('list workspaces')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list =
        cliMode() === 'broker'
          ? await brokerRequest<{ id: string; name: string; region: string }[]>(
              'GET',
              `/api/workspaces?range=${encodeURIComponent('[0,999]')}`,
            )
          : await withOperator((p) => p.workspaces.list());
      printResult(!!opts.json, list, () => list.map((w) => `${w.id}  ${w.region}  ${w.name}`).join('\n') || '(no workspaces)');
    });

  const rotate = ws
    .command('rotate-keys')
    .description(
      'add a new version of the workspace’s data and hashing keys; with --reencrypt, re-encrypt every stored ciphertext under it and retire the old data keys',
    )
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--reencrypt', 're-encrypt all stored ciphertext in resumable batches, then retire the old data-key versions')
    .option('--resume', 'with --reencrypt: continue an interrupted run without making another key version')
    .option('--batch-size <n>', 'rows per batch', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 50_000) throw new Error('--batch-size must be an integer from 1 to 50000');
      return n;
    })
    .option('--no-wait', 'production: queue the re-encryption job and return its id instead of following it')
    .option('--json', 'print JSON');
  withStepUpOptions(rotate).action(
    async (
      opts: StepUpOptions & {
        workspace: string;
        reencrypt?: boolean;
        resume?: boolean;
        batchSize?: number;
        wait?: boolean;
        json?: boolean;
      },
    ) => {
      if (opts.resume && !opts.reencrypt) throw new Error('--resume only goes with --reencrypt');
      if (cliMode() === 'broker') {
        // Owner only, TOTP step-up, as in the console.
        if (opts.reencrypt) {
          // Millions of rows are no HTTP request: the broker queues a job for the worker (202) and we follow it.
          const queued = await brokerRequest<{ jobId: string; status: string }>(
            'POST',
            wsPath(opts.workspace, '/keys/reencrypt'),
            { ...(await stepUpBody(opts)), resume: !!opts.resume, batchSize: opts.batchSize },
            { reason: opts.reason },
          );
          if (opts.wait === false) {
            printResult(!!opts.json, queued, () => `re-encryption of ${opts.workspace} queued as job ${queued.jobId}`);
            return;
          }
          try {
            const done = await followJob(statusPath(queued.status), { json: !!opts.json, label: 're-encrypting' });
            printResult(!!opts.json, done, () => describeReencryptJob(opts.workspace, done.result));
          } catch (err) {
            throw new Error(
              `${err instanceof Error ? err.message : String(err)} — nothing is lost; continue with: wact workspace rotate-keys --workspace ${opts.workspace} --reencrypt --resume`,
            );
          }
          return;
        }
        await brokerRequest('POST', wsPath(opts.workspace, '/keys/rotate'), await stepUpBody(opts), { reason: opts.reason });
        printResult(!!opts.json, { rotated: opts.workspace }, () => `rotated keys of ${opts.workspace}`);
        return;
      }
      if (!opts.reencrypt) {
        await withOperator((p) => p.workspaces.rotateKeys(opts.workspace, operatorActor(), { reason: opts.reason }));
        printResult(!!opts.json, { rotated: opts.workspace }, () => `rotated keys of ${opts.workspace}`);
        return;
      }
      // A bar on a terminal only: pipes and logs get the one-line result.
      const bar =
        process.stderr.isTTY && !opts.json
          ? new cliProgress.SingleBar(
              { stream: process.stderr, format: 're-encrypting {bar} {value}/{total} ciphertexts | {table} | {eta_formatted} left' },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      try {
        const report = await withOperator((p) =>
          p.workspaces.reencrypt(opts.workspace, operatorActor(), {
            rotate: !opts.resume,
            batchSize: opts.batchSize,
            onProgress: ({ done, total, table }) => {
              if (!bar) return;
              if (!started) bar.start(total, 0, { table });
              started = true;
              bar.update(done, { table });
            },
          }),
        );
        bar?.stop();
        printResult(!!opts.json, report, () => describeReencrypt(report));
      } catch (err) {
        bar?.stop();
        throw new Error(
          `${err instanceof Error ? err.message : String(err)} — nothing is lost; continue with: wact workspace rotate-keys --workspace ${opts.workspace} --reencrypt --resume`,
        );
      }
    },
  );

  const protect = ws
    .command('protect-keys')
    .description('give an older workspace (keys wrapped by the regional KEK) a key-encryption key of its own, so a wipe survives a restore')
    .option('--workspace <id>', 'workspace id')
    .option('--all', 'every workspace (development only: no one person owns every workspace)')
    .option('--json', 'print JSON');
  withStepUpOptions(protect).action(async (opts: StepUpOptions & { workspace?: string; all?: boolean; json?: boolean }) => {
    if (!opts.workspace === !opts.all) throw new Error('give either --workspace <id> or --all');
    if (cliMode() === 'broker') {
      // Keys are the owner's (workspace.keys.manage); no employee permission manages every workspace's keys.
      if (opts.all)
        throw new Error(
          'refused in production: --all has no broker API (no permission covers every workspace’s keys); each owner runs it with --workspace <id>',
        );
      const r = await brokerRequest<{ workspace: string; rewrapped: number; kek: string }>(
        'POST',
        wsPath(opts.workspace!, '/keys/protect'),
        await stepUpBody(opts),
        { reason: opts.reason },
      );
      printResult(!!opts.json, [r], () => `${r.workspace}: ${r.rewrapped} keys re-wrapped under ${r.kek}`);
      return;
    }
    const out = await withOperator(async (p) => {
      const ids = opts.all ? (await p.workspaces.list()).map((w) => w.id) : [opts.workspace!];
      const results: { workspace: string; rewrapped: number; kek: string }[] = [];
      for (const id of ids)
        results.push({ workspace: id, ...(await p.workspaces.protectKeys(id, operatorActor(), { reason: opts.reason })) });
      return results;
    });
    printResult(!!opts.json, out, () => out.map((r) => `${r.workspace}: ${r.rewrapped} keys re-wrapped under ${r.kek}`).join('\n'));
  });

  const customer = ws
    .command('set-customer-key')
    .description('use the customer’s own AWS KMS key (ARN, granted kms:Encrypt/kms:Decrypt) as the workspace’s key-encryption key')
    .requiredOption('--workspace <id>', 'workspace id')
    .requiredOption('--kms-key-arn <arn>', 'arn:aws:kms:<aws-region>:<account>:key/<key-id>')
    .option('--json', 'print JSON');
  withStepUpOptions(customer).action(async (opts: StepUpOptions & { workspace: string; kmsKeyArn: string; json?: boolean }) => {
    const keyArn = customerKeyArn.parse(opts.kmsKeyArn); // before touching a database or the broker
    const out =
      cliMode() === 'broker'
        ? await brokerRequest<{ rewrapped: number; keyArn: string }>(
            'POST',
            wsPath(opts.workspace, '/keys/customer-key'),
            { ...(await stepUpBody(opts)), kmsKeyArn: keyArn },
            { reason: opts.reason },
          )
        : await withOperator((p) => p.workspaces.setCustomerKey(opts.workspace, keyArn, operatorActor(), { reason: opts.reason }));
    printResult(!!opts.json, out, () => `${opts.workspace}: ${out.rewrapped} keys now wrapped by ${out.keyArn}`);
  });
}

function describeReencryptJob(workspaceId: string, result: Record<string, unknown> | null): string {
  if (!result) return `re-encrypted the ciphertexts of ${workspaceId}`;
  const retired = typeof result.retiredVersions === 'string' && result.retiredVersions ? result.retiredVersions : '';
  return `re-encrypted ${String(result.reencrypted)} ciphertexts of ${workspaceId} under data key v${String(result.targetVersion)}; retired ${
    retired
      ? retired
          .split(',')
          .map((v) => `v${v}`)
          .join(', ')
      : 'no older versions'
  }`;
}

function describeReencrypt(report: ReencryptReport): string {
  return `re-encrypted ${report.reencrypted} ciphertexts of ${report.workspaceId} under data key v${report.targetVersion} in ${report.seconds.toFixed(1)} s; retired ${report.retiredVersions.length ? report.retiredVersions.map((v) => `v${v}`).join(', ') : 'no older versions'}`;
}
