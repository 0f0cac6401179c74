import { guarded } from '../common/guard.tsx';
import LinkIcon from '@mui/icons-material/Link';

export default {
  list: guarded('list', () => import('./LinkList.tsx')),
  create: guarded('create', () => import('./LinkCreate.tsx')),
  icon: LinkIcon,
  recordRepresentation: 'id',
};
