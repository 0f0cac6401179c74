import { lazy } from 'react';
import VpnKeyIcon from '@mui/icons-material/VpnKey';

export default {
  list: lazy(() => import('./CredentialList.tsx')),
  icon: VpnKeyIcon,
  recordRepresentation: 'provider',
};
