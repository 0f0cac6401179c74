import type { Region } from '../config/config.ts';

/** Retention ceilings: a workspace may shorten them, never lengthen them. */
export const DEFAULT_EVENTS_DAYS = 730; // 24 months of attributed events
export const DEFAULT_RAW_DAYS = 90; // minimised raw webhook payloads
/** GDPR art. 12(3): one month to act on an erasure request. */
export const DELETION_DUE_DAYS = 30;

export type RetentionClass = 'events' | 'raw';

export interface RetentionSettings {
  workspaceId: string;
  eventsDays: number;
  rawDays: number;
  /** True when the workspace still uses the defaults (no row stored). */
  isDefault: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  defaults: { eventsDays: number; rawDays: number };
}

export interface RetentionTableReport {
  table: string;
  class: RetentionClass;
  droppedPartitions: string[];
  /** Rows removed per workspace (partition drops and exact trims together). */
  removed: Record<string, number>;
}

export interface RetentionRunReport {
  region: Region;
  ranAt: string;
  tables: RetentionTableReport[];
  totalRemoved: number;
  durationMs: number;
}

export type DeletionSubject = { kind: 'phone'; phone: string } | { kind: 'conversation'; conversationId: string };
export type DeletionStatus = 'pending' | 'propagating' | 'completed' | 'overdue';
export type TargetStatus = 'pending' | 'done' | 'overdue' | 'not_needed';

export interface DeletionTargetView {
  platform: string;
  endpoint: string;
  status: TargetStatus;
  identifierCount: number;
  attempts: number;
  lastAttemptAt: string | null;
  responseStatus: number | null;
  responseSummary: string | null;
  completedAt: string | null;
}

export interface DeletionRequestView {
  id: string;
  workspaceId: string;
  subjectKind: 'phone' | 'conversation';
  status: DeletionStatus;
  overdue: boolean;
  requestedBy: string;
  requestedAt: string;
  dueAt: string;
  localDoneAt: string | null;
  completedAt: string | null;
  deletedCounts: Record<string, number>;
  attempts: number;
  lastError: string | null;
  targets: DeletionTargetView[];
}
