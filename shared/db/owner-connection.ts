import pg from 'pg';
import type { Region } from '../config/config.ts';
import { ConfigError } from '../errors/errors.ts';
import { carriesLogin } from './database-urls.ts';

/**
 * A connection with the owner's login from a region's operator URL, for the two jobs no service role
 * may do (erasing a wiped workspace's audit history, writing a moved workspace's audit rows). Only
 * the lifecycle worker is given that login (docs/deployment.md); elsewhere the URL carries none, and
 * this refuses in one line instead of letting pg fall back to PGUSER or the OS user.
 */
export async function connectAsOwner(url: string, region: Region, applicationName: string): Promise<pg.Client> {
  if (!carriesLogin(url))
    throw new ConfigError(
      `refusing: this needs the owner's login in DATABASE_URL_${region.toUpperCase()}, which only the lifecycle worker is given`,
    );
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  return client;
}
