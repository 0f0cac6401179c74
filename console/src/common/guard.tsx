/* eslint-disable @typescript-eslint/no-explicit-any -- loosely shaped broker JSON, read field by field with fallbacks */
import { lazy, type ComponentType } from 'react';
import { AccessDenied, Loading, useCanAccess, useResourceContext } from 'react-admin';

/**
 * Wraps a lazily loaded screen so that it is neither downloaded nor allowed to query the
 * API unless the role may use it: react-admin's own list controller would still fire one
 * request (refused by the broker) before redirecting. The broker stays the authority.
 */
export function guarded(action: string, load: () => Promise<{ default: ComponentType<any> }>, resourceName?: string): ComponentType<any> {
  const Screen = lazy(load);
  function Guarded(props: Record<string, unknown>) {
    const fromContext = useResourceContext();
    const resource = resourceName ?? fromContext ?? '';
    const { canAccess, isPending } = useCanAccess({ resource, action });
    if (isPending) return <Loading />;
    if (!canAccess) return <AccessDenied />;
    return <Screen {...props} />;
  }
  Guarded.displayName = `Guarded(${action})`;
  return Guarded;
}
