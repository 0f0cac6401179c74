import { guarded } from '../common/guard.tsx';
import KeyIcon from '@mui/icons-material/Key';

export default {
  list: guarded('list', () => import('./ApiKeyList.tsx')),
  icon: KeyIcon,
  recordRepresentation: 'label',
};
