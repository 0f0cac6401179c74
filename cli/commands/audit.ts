import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { operatorActor, withOperator } from '../operator.ts';
import { printResult } from '../output.ts';
import { auditParts, AUDIT_DATABASES } from '../../shared/audit/audit-platform.ts';
import { exportAuditStream, type ExportFormat } from '../../shared/audit/audit-export.ts';
import { verifyExport, type VerifyReport } from '../../shared/audit/audit-verify.ts';
import { parsePublicKeys } from '../../shared/audit/audit-keys.ts';
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
    : `FAILED: ${r.problems.length} problem(s) in ${r.events} events`;
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
      'verify an export offline: recompute the chain, check the signed heads, name every missing, altered, reordered or inserted event',
    )
    .option('--public-key <keyOrFile>', 'a key file (the JSON of /.well-known/wact-audit-keys, a JWK or PEM) or a base64 Ed25519 key')
    .option('--keys <file>', 'same as --public-key with a file')
    .option('--keys-url <url>', 'fetch the public keys (e.g. https://broker/.well-known/wact-audit-keys)')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { publicKey?: string; keys?: string; keysUrl?: string; json?: boolean }) => {
      let keyText: string;
      const source = opts.publicKey ?? opts.keys;
      if (source) keyText = fs.existsSync(source) ? fs.readFileSync(source, 'utf8') : source;
      else if (opts.keysUrl) {
        const res = await fetch(opts.keysUrl);
        if (!res.ok) throw new Error(`could not fetch the public keys: HTTP ${res.status}`);
        keyText = await res.text();
      } else throw new Error('give --public-key <key or file>, --keys <file> or --keys-url <url>');
      const keys = parsePublicKeys(keyText);
      const report = await verifyExport(fs.createReadStream(file), keys);
      printResult(!!opts.json, report, () => describeReport(report));
      if (!report.ok) process.exitCode = 1;
    });

  audit
    .command('sign-heads')
    .description('sign every audit chain head that moved since it was last signed (the broker also does this hourly)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const result = await withOperator(async (p) => {
        const { signer } = auditParts(p);
        const out: Record<string, { signed: number; broken: string[] }> = {};
        for (const db of AUDIT_DATABASES) {
          const r = await signer.signHeads(db, 'periodic');
          out[db] = { signed: r.signed.length, broken: r.broken.map((b) => b.message) };
        }
        return out;
      });
      printResult(!!opts.json, result, () =>
        Object.entries(result)
          .map(
            ([db, r]) => `${db}: signed ${r.signed} head(s)${r.broken.length ? `; NOT signed (chain broken): ${r.broken.join('; ')}` : ''}`,
          )
          .join('\n'),
      );
      if (Object.values(result).some((r) => r.broken.length)) process.exitCode = 1;
    });

  audit
    .command('keys')
    .description('print the public keys that verify signed heads (same JSON as /.well-known/wact-audit-keys)')
    .action(async () => {
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
              `${r.database}: ${r.dropped.length ? r.dropped.map((d) => `dropped ${d.partition} (${d.events} events)`).join(', ') : 'nothing expired'}`,
          )
          .join('\n'),
      );
    });
}
