import { useEffect, useState } from 'react';
import { setAccessReason } from '../workspace/accessReason.ts';
import { setWorkspaceId } from '../workspace/currentWorkspace.ts';

/** The support session the agent is working in (in memory: a reload asks the broker again). */
export interface ActiveSupportSession {
  id: string;
  workspaceId: string;
  workspaceName?: string;
  reason: string;
  expiresAt: string;
}

type Listener = (s: ActiveSupportSession | undefined) => void;
let active: ActiveSupportSession | undefined;
const listeners = new Set<Listener>();

export function getSupportSession(): ActiveSupportSession | undefined {
  if (active && Date.parse(active.expiresAt) <= Date.now()) setSupportSession(undefined);
  return active;
}

export function setSupportSession(s: ActiveSupportSession | undefined): void {
  active = s;
  setAccessReason(s?.reason);
  setWorkspaceId(s?.workspaceId);
  for (const l of listeners) l(s);
}

export function useSupportSession(): ActiveSupportSession | undefined {
  const [s, set] = useState(getSupportSession());
  useEffect(() => {
    listeners.add(set);
    return () => void listeners.delete(set);
  }, []);
  return s;
}

/**
 * Seconds left until `expiresAt`, re-rendering every second; 0 once expired. Computed from
 * the clock at render time (not kept in state), so a new session never shows a stale 0.
 */
export function useSecondsLeft(expiresAt: string | undefined): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!expiresAt) return;
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [expiresAt]);
  if (!expiresAt) return 0;
  const ms = Date.parse(expiresAt);
  return Number.isNaN(ms) ? 0 : Math.max(0, Math.floor((ms - Date.now()) / 1000));
}

export function formatCountdown(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}
