import { DateField, type DateFieldProps } from 'react-admin';

/** Dates in the viewer's own time zone and locale (the browser's), with the time. */
export function LocalDate(props: DateFieldProps) {
  return <DateField showTime options={{ dateStyle: 'medium', timeStyle: 'short' }} {...props} />;
}

export function formatLocal(value: string | number | Date | undefined | null): string {
  if (value === undefined || value === null || value === '') return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
