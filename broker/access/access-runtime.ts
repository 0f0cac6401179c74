import type { BrokerServices } from '../http/route-types.ts';
import type { AccessService } from '../../shared/access/access-service.ts';
import type { AccessActor } from '../../shared/access/access-types.ts';
import { accessServiceFor } from '../../shared/access/access-wiring.ts';
import type { ApiRequest } from '../http/route-types.ts';
import { ForbiddenError } from '../../shared/errors/errors.ts';

/** One access service per broker process, kept in `services.features.access`. */
export function accessFor(services: BrokerServices): AccessService {
  let access = services.features.access as AccessService | undefined;
  if (!access) {
    access = accessServiceFor(services.platform, { fieldCrypto: services.fieldCrypto });
    services.features.access = access;
  }
  return access;
}

/** The calling employee as the access service sees them (the policy already required an employee role). */
export function accessActor(req: ApiRequest): AccessActor {
  const { auth } = req;
  if (auth.kind !== 'employee' || !auth.employeeRole) throw new ForbiddenError('employees only');
  return { userId: auth.userId, displayName: auth.displayName, employeeRole: auth.employeeRole };
}
