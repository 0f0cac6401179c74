import { guarded } from '../common/guard.tsx';
import StorageIcon from '@mui/icons-material/Storage';

export default {
  list: guarded('list', () => import('./DbSessionList.tsx')),
  create: guarded('create', () => import('./DbSessionCreate.tsx')),
  show: guarded('show', () => import('./DbSessionShow.tsx')),
  icon: StorageIcon,
  recordRepresentation: 'reason',
};
