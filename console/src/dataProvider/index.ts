/* eslint-disable @typescript-eslint/no-explicit-any -- loosely shaped broker JSON, read field by field with fallbacks */
import simpleRestProvider from 'ra-data-simple-rest';
import type { DataProvider } from 'react-admin';
import { downloadFile, httpClient as defaultHttpClient, type RequestOptions } from '../http/httpClient.ts';
import { getWorkspaceId } from '../workspace/currentWorkspace.ts';
import { getAccessReason } from '../workspace/accessReason.ts';
import { baseFor, CREATE_ROUTES, expandPath, routeOf } from './resources.ts';
import { rememberConnection } from './connections.ts';

type HttpClient = typeof defaultHttpClient;

export interface WactDataProvider extends DataProvider {
  /** Reveals one identifier: the broker checks `identifiers.unmask`, requires the reason and audits it. */
  unmask(resource: string, params: { id: string | number; field: string; reason: string }): Promise<{ value: string }>;
  /** Downloads an export of a list (what the role may see, with the list's filter). */
  exportList(
    resource: string,
    params: { format: 'csv' | 'jsonl'; filter?: Record<string, unknown>; path?: string },
  ): Promise<{ name: string; size: number }>;
  /** Any other broker call; `{ws}` in the path is the current workspace. */
  call<T = any>(path: string, options?: RequestOptions & { json?: unknown }): Promise<T>;
}

export interface DataProviderOptions {
  httpClient?: HttpClient;
  getWorkspaceId?: () => string | undefined;
  download?: typeof downloadFile;
}

/**
 * react-admin's standard simple-REST provider, pointed at the broker: the workspace the
 * console shows is part of the base path, cookies authenticate, the CSRF header rides on
 * every write, and an employee's stated reason rides on every read (the broker audits it).
 */
export function createDataProvider(options: DataProviderOptions = {}): WactDataProvider {
  const http = options.httpClient ?? defaultHttpClient;
  const workspace = options.getWorkspaceId ?? getWorkspaceId;
  const download = options.download ?? downloadFile;
  const withReason: HttpClient = (url, init = {}) => {
    const reason = init.reason ?? getAccessReason();
    return http(url, reason ? { ...init, reason } : init);
  };
  const providerFor = (resource: string) => simpleRestProvider(baseFor(resource, workspace()), withReason as any);
  const delegate =
    <K extends keyof DataProvider>(method: K) =>
    async (resource: string, params: any) =>
      (providerFor(resource)[method] as any)(routeOf(resource).path, params);

  return {
    getList: delegate('getList'),
    getOne: delegate('getOne'),
    getMany: delegate('getMany'),
    getManyReference: delegate('getManyReference'),
    async create(resource: string, params: any) {
      const special = CREATE_ROUTES[resource];
      if (!special) return delegate('create')(resource, params);
      const { json } = await withReason(special.path(params.data), { method: 'POST', body: JSON.stringify(special.body(params.data)) });
      const record = special.unwrap(json);
      if (json?.connection && record?.id) rememberConnection(String(record.id), json.connection);
      return { data: record };
    },
    update: delegate('update'),
    updateMany: delegate('updateMany'),
    delete: delegate('delete'),
    deleteMany: delegate('deleteMany'),
    async unmask(resource, { id, field, reason }) {
      if (!reason || reason.trim().length < 3) throw new Error('A reason is required to unmask an identifier.');
      const url = `${baseFor(resource, workspace())}/${routeOf(resource).path}/${encodeURIComponent(String(id))}/unmask`;
      const { json } = await withReason(url, { method: 'POST', body: JSON.stringify({ field, reason }), reason });
      return { value: String(json?.value ?? json?.[field] ?? '') };
    },
    async exportList(resource, { format, filter, path }) {
      const base = path ? expandPath(path, workspace()) : `${baseFor(resource, workspace())}/${routeOf(resource).path}/export`;
      const query = new URLSearchParams({ format });
      if (filter && Object.keys(filter).length) query.set('filter', JSON.stringify(filter));
      const reason = getAccessReason();
      return download(`${base}?${query}`, `${resource}.${format}`, reason ? { reason } : {});
    },
    async call(path, init = {}) {
      const { json: body, ...rest } = init;
      const url = expandPath(path, workspace());
      const { json } = await withReason(
        url,
        body === undefined ? rest : { ...rest, method: rest.method ?? 'POST', body: JSON.stringify(body) },
      );
      return json;
    },
  };
}

export const dataProvider = createDataProvider();
