import { guarded } from '../common/guard.tsx';
import VpnKeyIcon from '@mui/icons-material/VpnKey';

export default {
  list: guarded('list', () => import('./CredentialList.tsx')),
  icon: VpnKeyIcon,
  recordRepresentation: 'provider',
};
