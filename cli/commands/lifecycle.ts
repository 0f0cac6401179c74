import type { Command } from 'commander';
import { createKeyStore } from '../../shared/crypto/keyring-dal.ts';
import { createDeletionService } from '../../shared/lifecycle/deletion-service.ts';
import { enqueueDeletion } from '../../shared/lifecycle/lifecycle-jobs.ts';
import { createMoveService } from '../../shared/lifecycle/move-service.ts';
import { createRetentionService } from '../../shared/lifecycle/retention-service.ts';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import { keyProviders, workspaceKeks, type Platform } from '../../shared/runtime/platform.ts';
import { seedSynthetic } from '../../shared/synthetic/synthetic-seeder.ts';
import { operatorActor, withOperator } from '../operator.ts';
import { printResult } from '../output.ts';
import { cliMode } from '../mode.ts';
import { brokerRequest } from './identity.ts';
import { followJob, statusPath } from '../job-progress.ts';

const wsPath = (id: string, rest: string) => `/api/workspaces/${encodeURIComponent(id)}${rest}`;

const int = (name: string) => (v: string) => {
  if (!/^\d{1,9}$/.test(v)) throw new Error(`${name} must be a whole number`);
  return Number(v);
};

const region = (v: string) => {
  if (v !== 'eu' && v !== 'us') throw new Error('region must be eu or us');
  return v as 'eu' | 'us';
};

export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

function deletionService(p: Platform) {
  return createDeletionService({
    ...p,
    config: p.config,
    enqueue: ({ workspaceId, requestId, region: r }) => enqueueDeletion(p.pools.region(r), { workspaceId, requestId }),
  });
}

/**
 * Data lifecycle (operator commands): retention, end-user deletion requests,
 * workspace wipe and move, synthetic data. Deliberately, no command here (or
 * anywhere) copies data out of a database: seeding writes synthetic rows in.
 */
export function registerLifecycleCommands(program: Command): void {
  const retention = program.command('retention').description('retention of attributed events and raw webhook payloads (operator)');
  retention
    .command('set')
    .description('shorten a workspace’s retention (defaults and ceilings: 730 days events, 90 days raw payloads)')
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--events-days <n>', 'days to keep attributed events (1–730)', int('--events-days'))
    .option('--raw-days <n>', 'days to keep raw webhook payloads (1–90)', int('--raw-days'))
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; eventsDays?: number; rawDays?: number; reason?: string; json?: boolean }) => {
      const settings = { eventsDays: o.eventsDays, rawDays: o.rawDays };
      const s =
        cliMode() === 'broker'
          ? await brokerRequest<{ workspaceId: string; eventsDays: number; rawDays: number }>(
              'PUT',
              wsPath(o.workspace, '/retention'),
              settings,
              { reason: o.reason },
            )
          : await withOperator((p) => createRetentionService(p).setSettings(o.workspace, settings, operatorActor()));
      printResult(!!o.json, s, () => `retention of ${s.workspaceId}: events ${s.eventsDays} days, raw payloads ${s.rawDays} days`);
    });
  retention
    .command('show')
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; reason?: string; json?: boolean }) => {
      const s =
        cliMode() === 'broker'
          ? await brokerRequest<{ eventsDays: number; rawDays: number; isDefault: boolean }>(
              'GET',
              wsPath(o.workspace, '/retention'),
              undefined,
              { reason: o.reason },
            )
          : await withOperator((p) => createRetentionService(p).getSettings(o.workspace));
      printResult(!!o.json, s, () => `events ${s.eventsDays} days, raw payloads ${s.rawDays} days${s.isDefault ? ' (defaults)' : ''}`);
    });
  retention
    .command('run')
    .description('run the retention job now (it also runs daily inside wact start)')
    .option('--region <region>', 'eu or us (default: both)', region)
    .option('--json', 'print JSON')
    .action(async (o: { region?: 'eu' | 'us'; json?: boolean }) => {
      const reports = await withOperator(async (p) => {
        const svc = createRetentionService(p);
        const out = [];
        for (const r of o.region ? [o.region] : (['eu', 'us'] as const)) out.push(await svc.run(r, { actor: operatorActor() }));
        return out;
      });
      printResult(!!o.json, reports, () =>
        reports
          .map(
            (r) =>
              `${r.region}: removed ${r.totalRemoved} rows, dropped ${r.tables.reduce((n, t) => n + t.droppedPartitions.length, 0)} partitions in ${r.durationMs} ms`,
          )
          .join('\n'),
      );
    });

  const deletion = program.command('deletion').description('end-user deletion requests (GDPR / CCPA) (operator)');
  deletion
    .command('request')
    .description('record a deletion request (due in 30 days) and queue it; the phone is hashed in memory, never stored')
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--phone <number>', 'the person’s phone number; "-" reads it from stdin (keeps it out of shell history)')
    .option('--conversation <id>', 'a conversation id of the person')
    .option('--now', 'process it right away instead of waiting for the worker (development only)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; phone?: string; conversation?: string; now?: boolean; reason?: string; json?: boolean }) => {
      if (!!o.phone === !!o.conversation) throw new Error('give exactly one of --phone and --conversation');
      if (o.now && cliMode() === 'broker')
        throw new Error('refused in production: --now (the lifecycle worker processes deletion requests; submit without --now)');
      const phone = o.phone === '-' ? await readStdinLine() : o.phone;
      if (cliMode() === 'broker') {
        const req = await brokerRequest<{ id: string; status: string; dueAt: string }>(
          'POST',
          wsPath(o.workspace, '/deletion-requests'),
          phone ? { phone } : { conversationId: o.conversation },
          { reason: o.reason },
        );
        printResult(!!o.json, req, () => `deletion request ${req.id}: ${req.status}, due ${req.dueAt}`);
        return;
      }
      const view = await withOperator(async (p) => {
        const svc = deletionService(p);
        const req = await svc.submit(o.workspace, phone ? { phone } : { conversationId: o.conversation }, operatorActor());
        return o.now ? svc.processRequest(o.workspace, req.id, operatorActor()) : req;
      });
      printResult(!!o.json, view, () => `deletion request ${view.id}: ${view.status}, due ${view.dueAt}`);
    });
  deletion
    .command('list')
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--overdue', 'only overdue requests')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; overdue?: boolean; reason?: string; json?: boolean }) => {
      const { rows } =
        cliMode() === 'broker'
          ? {
              rows: await brokerRequest<Awaited<ReturnType<ReturnType<typeof deletionService>['list']>>['rows']>(
                'GET',
                wsPath(
                  o.workspace,
                  `/deletion-requests?range=${encodeURIComponent('[0,499]')}&filter=${encodeURIComponent(JSON.stringify(o.overdue ? { overdue: true } : {}))}`,
                ),
                undefined,
                { reason: o.reason },
              ),
            }
          : await withOperator((p) => deletionService(p).list(o.workspace, { offset: 0, limit: 500, overdue: o.overdue }));
      printResult(
        !!o.json,
        rows,
        () =>
          rows
            .map(
              (r) =>
                `${r.id}  ${r.status}${r.overdue ? ' (OVERDUE)' : ''}  due ${r.dueAt}  ${r.targets.map((t) => `${t.platform}:${t.status}`).join(' ')}`,
            )
            .join('\n') || '(no deletion requests)',
      );
    });

  // `wact workspace …` exists already (cli/commands/workspace.ts): add to it.
  const ws = program.commands.find((c) => c.name() === 'workspace') ?? program.command('workspace');
  ws.command('wipe')
    .description('destroy the workspace: keys first (crypto-shredding), then every row, credential, link, key, export and queued job')
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--yes', 'confirm: this cannot be undone')
    .option('--confirm <name>', 'production: the workspace’s exact name, as the console asks for it')
    .option('--totp <code>', 'production: a current TOTP code (step-up, as in the console); "-" reads it from stdin')
    .option('--recovery-code <code>', 'production: a recovery code instead of --totp')
    .option('--reason <text>', 'why (recorded in the platform audit log)')
    .option('--json', 'print JSON')
    .action(
      async (o: {
        workspace: string;
        yes?: boolean;
        confirm?: string;
        totp?: string;
        recoveryCode?: string;
        reason?: string;
        json?: boolean;
      }) => {
        if (!o.yes) throw new Error('refusing to wipe without --yes (this destroys the workspace’s keys and data for good)');
        if (cliMode() === 'broker') {
          // The console's wipe: owner only, typed name, TOTP step-up; the broker checks all three.
          if (!o.confirm) throw new Error('give --confirm "<the workspace name>" (typed, as the console asks)');
          const totp = o.totp === '-' ? await readStdinLine() : o.totp;
          const r = await brokerRequest<{ workspaceId: string; region: string; keysDestroyed: number; rowsDeleted: number }>(
            'POST',
            wsPath(o.workspace, '/wipe'),
            { confirm: o.confirm, totp, recoveryCode: o.recoveryCode, reason: o.reason },
            { reason: o.reason },
          );
          printResult(
            !!o.json,
            r,
            () => `wiped ${r.workspaceId} (${r.region}): ${r.keysDestroyed} keys destroyed, ${r.rowsDeleted} rows deleted`,
          );
          return;
        }
        const report = await withOperator((p) => createWipeService(p).wipe(o.workspace, operatorActor(), { reason: o.reason }));
        printResult(
          !!o.json,
          report,
          () =>
            `wiped ${report.workspaceId} (${report.region}): ${report.keysDestroyed} keys destroyed, ${Object.values(report.deleted).reduce((a, b) => a + b, 0)} rows deleted`,
        );
      },
    );
  ws.command('move')
    .description('move a workspace to another region: re-encrypt under the target keys, verify, then wipe the source')
    .requiredOption('--workspace <id>', 'workspace id')
    .requiredOption('--region <region>', 'target region (eu or us)', region)
    .option('--totp <code>', 'production: a current TOTP code (owner step-up, as in the console); "-" reads it from stdin')
    .option('--recovery-code <code>', 'production: a recovery code instead of --totp')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--kms-key-arn <arn>', 'a workspace under your own KMS key: a key of yours in the target region to move it under')
    .option('--no-wait', 'production: queue the move job and return its id instead of following it')
    .option('--json', 'print JSON')
    .action(
      async (o: {
        workspace: string;
        region: 'eu' | 'us';
        totp?: string;
        recoveryCode?: string;
        reason?: string;
        kmsKeyArn?: string;
        wait?: boolean;
        json?: boolean;
      }) => {
        if (cliMode() === 'broker') {
          // The owner's request (workspace.move, TOTP step-up); hours of copying run in the worker, we follow the job.
          const totp = o.totp === '-' ? await readStdinLine() : o.totp;
          const queued = await brokerRequest<{ jobId: string; status: string; from: string; to: string }>(
            'POST',
            wsPath(o.workspace, '/move'),
            { region: o.region, totp, recoveryCode: o.recoveryCode, reason: o.reason, kmsKeyArn: o.kmsKeyArn },
            { reason: o.reason },
          );
          if (o.wait === false) {
            printResult(!!o.json, queued, () => `move of ${o.workspace} ${queued.from} → ${queued.to} queued as job ${queued.jobId}`);
            return;
          }
          const done = await followJob(statusPath(queued.status), { json: !!o.json, label: `moving ${queued.from} → ${queued.to}` });
          const r = done.result ?? {};
          printResult(
            !!o.json,
            done,
            () =>
              `moved ${o.workspace} ${queued.from} → ${queued.to}: ${String(r.rowsCopied ?? '?')} rows, ${String(r.reencrypted ?? '?')} fields re-encrypted`,
          );
          return;
        }
        const report = await withOperator((p) =>
          createMoveService({
            ...p,
            keyStore: createKeyStore({ poolFor: (r) => p.pools.region(r) }),
            providerFor: keyProviders(p.config),
            workspaceKeks: workspaceKeks(p.config),
          }).move(o.workspace, o.region, operatorActor(), { ctx: { reason: o.reason }, customerKeyArn: o.kmsKeyArn }),
        );
        printResult(
          !!o.json,
          report,
          () =>
            `moved ${report.workspaceId} ${report.from} → ${report.to}: ${Object.values(report.rows).reduce((a, b) => a + b, 0)} rows, ${report.reencrypted} fields re-encrypted`,
        );
      },
    );

  program
    .command('seed')
    .description('fill new workspaces with synthetic data (fictional numbers, click ids, UTM mixes, funnels); refused on production')
    .requiredOption('--synthetic', 'synthetic data (the only kind there is: nothing is ever copied out of production)')
    .option('--workspaces <n>', 'how many new workspaces', int('--workspaces'), 1)
    .option('--conversations <m>', 'conversations per workspace', int('--conversations'), 1000)
    .option('--region <region>', 'eu or us', region, 'eu')
    .option('--days <d>', 'spread over the last d days', int('--days'), 60)
    .option('--json', 'print JSON')
    .action(async (o: { workspaces: number; conversations: number; region: 'eu' | 'us'; days: number; json?: boolean }) => {
      const out = await withOperator(async (p) => {
        // Refused twice: by configuration, and by what the database says it is.
        if (p.config.env === 'production') throw new Error('refusing: synthetic seeding never runs in production');
        const { rows } = await p.pools
          .region(o.region)
          .query<{ environment: string }>('SELECT environment FROM wact_meta.database_identity');
        if (rows[0]?.environment === 'production') throw new Error('refusing: this is a production database');
        const results = [];
        for (let i = 0; i < o.workspaces; i++) {
          const w = await p.workspaces.create(
            { name: `Synthetic ${new Date().toISOString().slice(0, 10)} #${i + 1}`, region: o.region },
            operatorActor(),
          );
          const started = Date.now();
          const counts = await seedSynthetic(
            { pool: p.pools.region(o.region), keyring: p.keyring },
            { workspaceId: w.id, region: o.region, conversations: o.conversations, days: o.days, seed: Date.now() % 2 ** 31 },
            (done) => {
              if (!o.json) process.stderr.write(`\r${w.name}: ${done}/${o.conversations} conversations`);
            },
          );
          if (!o.json) process.stderr.write('\n');
          await p.audit.append({
            action: 'workspace.seed',
            actor: operatorActor(),
            workspaceId: w.id,
            region: o.region,
            target: { type: 'workspace', id: w.id },
            outcome: 'success',
            metadata: { ...counts },
          });
          results.push({ workspace: w, counts, ms: Date.now() - started });
        }
        return results;
      });
      printResult(!!o.json, out, () =>
        out
          .map(
            (r) =>
              `${r.workspace.id}  ${r.workspace.name}: ${r.counts.conversations} conversations, ${r.counts.clicks} clicks, ${r.counts.conversions} conversions (${r.ms} ms)`,
          )
          .join('\n'),
      );
    });
}
