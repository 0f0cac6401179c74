import type express from 'express';
import { z } from 'zod';
import { BadRequestError } from '../../shared/errors/errors.ts';

/**
 * react-admin simple-REST list conventions:
 *   ?sort=["field","ASC"]&range=[0,24]&filter={"q":"x"}
 * and the total in `Content-Range: <resource> 0-24/319`.
 */
export interface ListQuery<F extends string = string> {
  sort: { field: F; order: 'ASC' | 'DESC' };
  /** Inclusive bounds, as react-admin sends them. */
  range: { start: number; end: number };
  limit: number;
  offset: number;
  filter: Record<string, unknown>;
}

const sortSchema = z.tuple([z.string().min(1).max(64), z.enum(['ASC', 'DESC', 'asc', 'desc'])]);
const rangeSchema = z.tuple([z.number().int().min(0), z.number().int().min(0)]);
const filterSchema = z.record(z.string().max(64), z.unknown());
/** The list parameters as parsed below, for the OpenAPI document (each travels as JSON in the query). */
export const listQuerySchemas = { sort: sortSchema, range: rangeSchema, filter: filterSchema } as const;

function json(value: unknown, name: string): unknown {
  if (typeof value !== 'string') throw new BadRequestError(`${name} must be JSON`, 'invalid_query');
  if (value.length > 4096) throw new BadRequestError(`${name} is too long`, 'invalid_query');
  try {
    return JSON.parse(value);
  } catch {
    throw new BadRequestError(`${name} is not valid JSON`, 'invalid_query');
  }
}

/**
 * Parses and validates the list parameters. `sortable` is the allow-list of
 * fields (never interpolate anything else into SQL); `maxPage` caps a page.
 */
export function parseListQuery<F extends string>(
  req: express.Request,
  opts: { sortable: readonly F[]; defaultSort: [F, 'ASC' | 'DESC']; maxPage?: number },
): ListQuery<F> {
  const maxPage = opts.maxPage ?? 500;
  let sort = { field: opts.defaultSort[0], order: opts.defaultSort[1] };
  if (req.query.sort !== undefined) {
    const parsed = sortSchema.safeParse(json(req.query.sort, 'sort'));
    if (!parsed.success) throw new BadRequestError('sort must be ["field","ASC"|"DESC"]', 'invalid_query');
    if (!(opts.sortable as readonly string[]).includes(parsed.data[0]))
      throw new BadRequestError(`cannot sort by ${parsed.data[0].slice(0, 64)}`, 'invalid_query');
    sort = { field: parsed.data[0] as F, order: parsed.data[1].toUpperCase() as 'ASC' | 'DESC' };
  }
  let start = 0;
  let end = Math.min(24, maxPage - 1);
  if (req.query.range !== undefined) {
    const parsed = rangeSchema.safeParse(json(req.query.range, 'range'));
    if (!parsed.success || parsed.data[1] < parsed.data[0])
      throw new BadRequestError('range must be [start,end] with start <= end', 'invalid_query');
    [start, end] = parsed.data;
    if (end - start + 1 > maxPage) end = start + maxPage - 1;
  }
  let filter: Record<string, unknown> = {};
  if (req.query.filter !== undefined) {
    const parsed = filterSchema.safeParse(json(req.query.filter, 'filter'));
    if (!parsed.success) throw new BadRequestError('filter must be a JSON object', 'invalid_query');
    filter = parsed.data;
  }
  return { sort, range: { start, end }, limit: end - start + 1, offset: start, filter };
}

/** Sets Content-Range for a page of `rows` starting at `start` out of `total`, returns the rows. */
export function listResponse<T>(res: express.Response, resource: string, rows: T[], start: number, total: number): T[] {
  const last = rows.length ? start + rows.length - 1 : start;
  res.setHeader('Content-Range', rows.length ? `${resource} ${start}-${last}/${total}` : `${resource} */${total}`);
  return rows;
}

/** Paginates an in-memory array (small lists such as members). */
export function pageOf<T>(res: express.Response, resource: string, all: T[], q: ListQuery): T[] {
  return listResponse(res, resource, all.slice(q.offset, q.offset + q.limit), q.offset, all.length);
}
