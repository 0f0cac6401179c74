import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../../shared/errors/errors.ts';
import { streamRows } from '../attribution/csv-stream.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';
import { createWactAccessDal, WACT_ACCESS_SORTS, type WactAccessFilter } from './wact-access-dal.ts';

/**
 * "WAct access" (issue 13, point 6): the workspace's owners and admins see
 * every WAct employee database session and support session on their
 * workspace, with its statement transcript, and can export it. The policy
 * (permission `wactaccess.read`: owner, admin) decides who; every read writes
 * its audit event to the workspace's own stream.
 */
const dal = (req: ApiRequest) =>
  createWactAccessDal({
    control: req.services.platform.pools.control,
    regional: req.services.platform.pools.region(req.workspace!.region),
  });

// Anchored ISO timestamps; year 0 and NUL bytes are refused here because PostgreSQL would refuse them with a 500.
const iso = z
  .string()
  .datetime({ offset: true })
  .refine((v) => !v.startsWith('0000'), 'year 0 does not exist');
export const filterSchema = z
  .object({
    q: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine((v) => !v.includes('\u0000'), 'no NUL bytes')
      .optional(),
    kind: z.enum(['database', 'support']).optional(),
    employeeRole: z.enum(['engineer', 'support', 'security']).optional(),
    scope: z.enum(['full', 'redacted']).optional(),
    endedHow: z.enum(['active', 'expired', 'revoked', 'closed']).optional(),
    from: iso.optional(),
    to: iso.optional(),
  })
  .strict();

function filterOf(raw: Record<string, unknown>): WactAccessFilter {
  // react-admin sends empty strings for cleared inputs: treat them as absent.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== '' && v !== null && v !== undefined));
  const parsed = filterSchema.safeParse(cleaned);
  if (!parsed.success) throw new BadRequestError('unknown or invalid filter', 'invalid_query');
  return parsed.data;
}

const uuid = z.string().uuid();
export const exportFormatQuery = z.object({ format: z.enum(['csv', 'jsonl']).default('csv') });

export const wactAccessRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/workspaces/:workspaceId/wact-access/export',
    permission: 'wactaccess.read',
    request: { query: exportFormatQuery, list: { filter: filterSchema } },
    audit: { action: 'wactaccess.export', target: 'access_session' },
    handler: async (req, res) => {
      const parsedFormat = exportFormatQuery.safeParse(req.query);
      if (!parsedFormat.success) throw new BadRequestError('format must be csv or jsonl', 'invalid_query');
      const { format } = parsedFormat.data;
      const q = parseListQuery(req, { sortable: WACT_ACCESS_SORTS, defaultSort: ['start', 'DESC'] });
      const filter = filterOf(q.filter);
      const d = dal(req);
      const ws = req.workspace!;
      // Bounded: sessions are minutes long and need approval each; 10 000 is years of them.
      const { rows: sessions, total } = await d.list(ws.id, filter, { offset: 0, limit: 10_000, sort: { field: 'start', order: 'DESC' } });
      // The event is written before the first byte (the machinery cannot after a stream).
      await req.recordAudit({ metadata: { sessions: sessions.length, total, format } });
      async function* lines() {
        for (const s of sessions) {
          const transcript = await d.transcript(ws.id, s.id, s.kind === 'support' ? 'support' : 'db');
          const base = { ...s, statementCount: transcript.length };
          if (!transcript.length) yield { ...base, seq: null, at: null, statement: null, outcome: null, rows: null };
          for (const t of transcript) yield { ...base, seq: t.seq, at: t.at, statement: t.text, outcome: t.outcome, rows: t.rows };
        }
      }
      await streamRows(res, lines(), {
        format,
        filename: `wact-access-${ws.id}-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}`,
        columns: [
          'id',
          'kind',
          'employeeName',
          'employeeId',
          'employeeRole',
          'scope',
          'reason',
          'ticket',
          'approverName',
          'approverComment',
          'start',
          'end',
          'endedHow',
          'statementCount',
          'seq',
          'at',
          'statement',
          'outcome',
          'rows',
        ],
      });
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/wact-access',
    permission: 'wactaccess.read',
    request: { list: { filter: filterSchema } },
    audit: { action: 'wactaccess.list', target: 'access_session' },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: WACT_ACCESS_SORTS, defaultSort: ['start', 'DESC'], maxPage: 200 });
      const { rows, total } = await dal(req).list(req.workspace!.id, filterOf(q.filter), q);
      await req.recordAudit({ metadata: { rowCount: rows.length } });
      return listResponse(res, 'wact-access', rows, q.offset, total);
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/wact-access/:id',
    permission: 'wactaccess.read',
    request: { params: { id: uuid } },
    audit: { action: 'wactaccess.show', target: 'access_session' },
    handler: async (req) => {
      const id = uuid.safeParse(req.params.id);
      // Another workspace's session is as unknown as a made-up id.
      const session = id.success ? await dal(req).get(req.workspace!.id, id.data) : undefined;
      if (!session) throw new NotFoundError('unknown access session', 'access_session_not_found');
      await req.recordAudit({ targetId: session.id, metadata: { statements: session.transcript.length } });
      return session;
    },
  },
];
