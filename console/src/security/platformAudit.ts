import { lazy } from 'react';
import PolicyIcon from '@mui/icons-material/Policy';

export default {
  list: lazy(() => import('./PlatformAuditList.tsx')),
  icon: PolicyIcon,
  recordRepresentation: 'action',
};
