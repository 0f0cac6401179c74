/**
 * One page of a settings listing (links, API keys). The column is one of a
 * fixed set each DAL maps to SQL, never raw input; limit and offset are bound.
 */
export interface PageRequest<C extends string> {
  orderBy: C;
  order: 'ASC' | 'DESC';
  limit: number;
  offset: number;
}

export interface Page<T> {
  items: T[];
  total: number;
}
