import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { operatorActor, withOperator } from '../operator.ts';
import { printResult } from '../output.ts';
import { cliMode } from '../mode.ts';
import { brokerFetch, brokerRequest } from './identity.ts';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { auditParts, AUDIT_DATABASES } from '../../shared/audit/audit-platform.ts';
import { exportAuditStream, type ExportFormat } from '../../shared/audit/audit-export.ts';
import { verifyExport, type VerifyReport } from '../../shared/audit/audit-verify.ts';
import { loadTrustedKeys } from '../../shared/audit/audit-keys.ts';
import { listDigests, readDigestDir } from '../../shared/audit/audit-digests.ts';
import { runAuditRetention } from '../../shared/audit/audit-retention.ts';
import { PLATFORM_STREAM, type AuditDatabase } from '../../shared/audit/audit-types.ts';

function parseTime(v: string | undefined, name: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`--${name} must be an ISO date or time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z`);
  return d;
}

/** Human form of a verification report: one line per problem, naming the event. */
export function describeReport(r: VerifyReport): string {
  const head = r.ok
    ? `OK: ${r.events} events (seq ${r.firstSeq ?? '–'}…${r.lastSeq ?? '–'}), ${r.signedHeadsVerified} signed head(s) verified, chain intact`
    : `FAILED: ${r.problems.length} problem(s) in ${r.events} events: the file's claim is NOT proven`;
  return [head, ...r.problems.map((p) => `  ${p.kind.toUpperCase()}: ${p.message}`), ...r.warnings.map((w) => `  note: ${w}`)].join('\n');
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the audit log: export, offline verification, signing, retention');

  audit
    .command('export')
    .description("export a workspace's audit log (or the platform log) with chain hashes and signed heads")
    .option('--workspace <id>', 'workspace id')
    .option('--platform', 'the platform log (control database) instead of a workspace')
    .requiredOption('--format <format>', 'csv or jsonl')
    .option('--from <time>', 'first instant (inclusive, ISO)')
    .option('--to <time>', 'last instant (exclusive, ISO)')
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print a JSON summary (with --out)')
    .action(
      async (opts: {
        workspace?: string;
        platform?: boolean;
        format: string;
        from?: string;
        to?: string;
        out?: string;
        reason?: string;
        json?: boolean;
      }) => {
        if (opts.format !== 'csv' && opts.format !== 'jsonl') throw new Error('--format must be csv or jsonl');
        if (!!opts.workspace === !!opts.platform) throw new Error('give --workspace <id> or --platform');
        const from = parseTime(opts.from, 'from');
        const to = parseTime(opts.to, 'to');
        if (cliMode() === 'broker') {
          // The console's export: audit.export for owners and admins, its audit event written by the broker first.
          if (opts.platform)
            throw new Error('refused in production: the platform log has no export API (security reads it in the console)');
          const qs = new URLSearchParams({ format: opts.format });
          if (from) qs.set('from', from.toISOString());
          if (to) qs.set('to', to.toISOString());
          const { response, close } = await brokerFetch(
            'GET',
            `/api/workspaces/${encodeURIComponent(opts.workspace!)}/audit/export?${qs}`,
            undefined,
            { reason: opts.reason, accept: '*/*' },
          );
          try {
            const out: Writable = opts.out ? fs.createWriteStream(opts.out, { mode: 0o600 }) : process.stdout;
            await pipeline(Readable.fromWeb(response.body as never), out, { end: !!opts.out });
          } finally {
            await close();
          }
          if (opts.out)
            printResult(!!opts.json, { out: opts.out, via: 'broker' }, () => `exported the audit log of ${opts.workspace} to ${opts.out}`);
          return;
        }
        const result = await withOperator(async (p) => {
          const parts = auditParts(p);
          const ws = opts.workspace ? await p.workspaces.get(opts.workspace) : undefined;
          const database: AuditDatabase = ws ? ws.region : 'control';
          const streamId = ws ? ws.id : PLATFORM_STREAM;
          // The export is itself an audit event, written (durably) before any data leaves.
          await p.audit.append({
            action: 'audit.export',
            actor: operatorActor(),
            workspaceId: ws?.id ?? null,
            region: ws?.region,
            target: { type: 'audit_log', id: streamId },
            reason: opts.reason,
            outcome: 'success',
            metadata: { format: opts.format, from: from?.toISOString() ?? null, to: to?.toISOString() ?? null, via: 'cli' },
          });
          const out: Writable = opts.out ? fs.createWriteStream(opts.out, { mode: 0o600 }) : process.stdout;
          const bar = process.stderr.isTTY
            ? new cliProgress.SingleBar(
                {
                  stream: process.stderr,
                  format: 'export [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left',
                  hideCursor: true,
                },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
          let started = false;
          try {
            const r = await exportAuditStream(
              { ...parts, log: (m) => process.stderr.write(`wact: ${m}\n`) },
              {
                database,
                streamId,
                format: opts.format as ExportFormat,
                from,
                to,
                onProgress: (done, total) => {
                  if (!bar) return;
                  if (!started) bar.start(total, 0);
                  started = true;
                  bar.update(done);
                },
              },
              out,
            );
            return r;
          } finally {
            bar?.stop();
            if (opts.out)
              await new Promise<void>((resolve, reject) =>
                (out as fs.WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())),
              );
          }
        });
        if (opts.out)
          printResult(
            !!opts.json,
            { ...result, out: opts.out },
            () =>
              `exported ${result.events} events (seq ${result.firstSeq ?? '–'}…${result.lastSeq ?? '–'}) with ${result.signedHeads} signed head(s) to ${opts.out}`,
          );
      },
    );

  audit
    .command('verify <file>')
    .description(
      'verify an export offline, failing closed: signed manifest, every event chained, both ends covered by signed heads; names every missing, altered, reordered or inserted event',
    )
    .option('--keys <fileOrUrl>', 'the published key set: a file saved from /.well-known/wact-audit-keys, or its https URL')
    .option('--key <file>', 'one public key (PEM; needs --fingerprint) or a key-set file')
    .option('--fingerprint <sha256...>', 'trust only keys with these fingerprints (as shown in the console / key set)')
    .option('--digests <dir>', 'a folder of digest files you kept: every event they list must be unchanged')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { keys?: string; key?: string; fingerprint?: string[]; digests?: string; json?: boolean }) => {
      const source = opts.keys ?? opts.key;
      // The keys must come from outside the file: without them nothing is proven.
      if (!source) throw new Error('give the published keys: --keys <file or https URL of /.well-known/wact-audit-keys> or --key <file>');
      let keyText: string;
      if (/^https?:\/\//.test(source)) {
        const res = await fetch(source);
        if (!res.ok) throw new Error(`could not fetch the public keys: HTTP ${res.status}`);
        keyText = await res.text();
      } else keyText = fs.readFileSync(source, 'utf8');
      const keys = loadTrustedKeys(keyText, opts.fingerprint ?? []);
      const digests = opts.digests ? readDigestDir(opts.digests) : undefined;
      const report = await verifyExport(fs.createReadStream(file), keys, { digests });
      printResult(!!opts.json, report, () => describeReport(report));
      if (!report.ok) process.exitCode = 1;
    });

  audit
    .command('digests')
    .description("save a stream's digest files (what the broker publishes hourly) into a folder, for verify --digests")
    .option('--workspace <id>', 'workspace id')
    .option('--platform', 'the platform log (control database)')
    .requiredOption('--out <dir>', 'folder to write the digest files to')
    .option('--json', 'print JSON')
    .action(async (opts: { workspace?: string; platform?: boolean; out: string; json?: boolean }) => {
      if (!!opts.workspace === !!opts.platform) throw new Error('give --workspace <id> or --platform');
      if (cliMode() === 'broker') {
        if (opts.platform) throw new Error('refused in production: the platform log’s digests have no API for people');
        const base = `/api/workspaces/${encodeURIComponent(opts.workspace!)}/audit/digests`;
        const list = await brokerRequest<{ name: string; lastSeq: string }[]>('GET', `${base}?range=${encodeURIComponent('[0,999]')}`);
        fs.mkdirSync(opts.out, { recursive: true });
        for (const d of list) {
          const { response, close } = await brokerFetch('GET', `${base}/${encodeURIComponent(d.lastSeq)}`);
          try {
            fs.writeFileSync(path.join(opts.out, path.basename(d.name)), Buffer.from(await response.arrayBuffer()));
          } finally {
            await close();
          }
        }
        printResult(!!opts.json, { saved: list.length, out: opts.out }, () => `saved ${list.length} digest file(s) to ${opts.out}`);
        return;
      }
      const files = await withOperator(async (p) => {
        const ws = opts.workspace ? await p.workspaces.get(opts.workspace) : undefined;
        const { poolFor } = auditParts(p);
        return listDigests(poolFor(ws ? ws.region : 'control'), ws ? ws.id : PLATFORM_STREAM);
      });
      fs.mkdirSync(opts.out, { recursive: true });
      for (const d of files) fs.writeFileSync(path.join(opts.out, d.name), d.body);
      printResult(!!opts.json, { saved: files.length, out: opts.out }, () => `saved ${files.length} digest file(s) to ${opts.out}`);
    });

  audit
    .command('sign-heads')
    .description('sign every audit chain head that moved since it was last signed and write digest files (the signer does this hourly)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const result = await withOperator(async (p) => {
        const { signer } = auditParts(p);
        const out: Record<string, { signed: number; digests: number; broken: string[] }> = {};
        for (const db of AUDIT_DATABASES) {
          const r = await signer.signHeads(db, 'periodic');
          const d = await signer.makeDigests(db);
          out[db] = { signed: r.signed.length, digests: d.made.length, broken: [...r.broken, ...d.broken].map((b) => b.message) };
        }
        return out;
      });
      printResult(!!opts.json, result, () =>
        Object.entries(result)
          .map(
            ([db, r]) =>
              `${db}: signed ${r.signed} head(s), ${r.digests} digest(s)${r.broken.length ? `; NOT signed (chain broken): ${r.broken.join('; ')}` : ''}`,
          )
          .join('\n'),
      );
      if (Object.values(result).some((r) => r.broken.length)) process.exitCode = 1;
    });

  audit
    .command('signer')
    .description(
      "run the signing worker (same as `wact serve worker --queues audit-sign`): the only process holding the audit signing key (production: WACT_AUDIT_SIGNING_KMS_KEY); answers the broker's sign requests, signs moved heads and writes digest files",
    )
    .action(async () => {
      const { loadConfig } = await import('../../shared/config/config.ts');
      const { serveOne } = await import('../start/product.ts');
      const config = loadConfig();
      const { stop } = await serveOne(config, 'worker', { queues: ['audit-sign'] });
      console.log(`signing worker running (${config.env}); Ctrl-C to stop`);
      const end = async () => {
        await stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void end());
      process.once('SIGTERM', () => void end());
    });

  audit
    .command('keys')
    .description('print the public keys that verify signed heads (same JSON as /.well-known/wact-audit-keys)')
    .action(async () => {
      if (cliMode() === 'broker') {
        process.stdout.write(JSON.stringify(await brokerRequest('GET', '/.well-known/wact-audit-keys'), null, 2) + '\n');
        return;
      }
      const keys = await withOperator(async (p) => {
        const { signer } = auditParts(p);
        for (const db of AUDIT_DATABASES) await signer.activeKey(db);
        return signer.publicKeys(AUDIT_DATABASES);
      });
      process.stdout.write(JSON.stringify({ keys }, null, 2) + '\n');
    });

  audit
    .command('retention')
    .description('drop audit months older than the retention period (never less than 12 months), anchoring what remains')
    .option('--keep-months <n>', 'months to keep (default: WACT_AUDIT_RETENTION_MONTHS)')
    .option('--json', 'print JSON')
    .action(async (opts: { keepMonths?: string; json?: boolean }) => {
      const result = await withOperator(async (p) => {
        const parts = auditParts(p);
        const keepMonths = opts.keepMonths ? Number(opts.keepMonths) : p.config.raw.WACT_AUDIT_RETENTION_MONTHS;
        const out = [];
        for (const db of AUDIT_DATABASES) out.push(await runAuditRetention(parts, db, { keepMonths, actor: operatorActor() }));
        return out;
      });
      printResult(!!opts.json, result, () =>
        result
          .map(
            (r) =>
              `${r.database}: ${r.dropped.length ? r.dropped.map((d) => `dropped ${d.partition} (${d.events} events)`).join(', ') : 'nothing expired'}` +
              (r.transcripts.length
                ? `; ${r.transcripts.reduce((n, t) => n + t.transcripts, 0)} gateway transcripts (${r.transcripts.reduce((n, t) => n + t.records, 0)} records)`
                : ''),
          )
          .join('\n'),
      );
    });
}
