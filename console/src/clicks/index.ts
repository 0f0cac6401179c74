import { guarded } from '../common/guard.tsx';
import AdsClickIcon from '@mui/icons-material/AdsClick';

export default {
  list: guarded('list', () => import('./ClickList.tsx')),
  icon: AdsClickIcon,
  recordRepresentation: 'id',
};
