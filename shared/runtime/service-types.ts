import type { Config } from '../config/config.ts';
import type { Databases } from './databases.ts';
import type { TlsMaterial } from '../http/tls.ts';

/** What `wact start` hands to each service it starts. */
export interface ServiceContext {
  config: Config;
  databases: Databases;
  tls: TlsMaterial;
}

/** A started service: the URLs to print, and how to stop it. */
export interface RunningService {
  name: string;
  urls: Record<string, string>;
  /** Extra lines for the start banner (e.g. demo logins). */
  notes?: string[];
  close(): Promise<void>;
}
