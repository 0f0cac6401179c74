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

/** Seconds left until `expiresAt`, ticking every second; 0 once expired. */
export function useSecondsLeft(expiresAt: string | undefined): number {
  const compute = () => (expiresAt ? Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000)) : 0);
  const [left, setLeft] = useState(compute);
  useEffect(() => {
    setLeft(compute());
    if (!expiresAt) return;
    const t = setInterval(() => setLeft(compute()), 1000);
    return () => clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [expiresAt]);
  return left;
}

export function formatCountdown(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}
