export const ROLE_CHOICES = [
  { id: 'owner', name: 'Owner — everything, including members, wipe and deletion' },
  { id: 'admin', name: 'Admin — settings, members, audit export, credentials' },
  { id: 'analyst', name: 'Analyst — attribution data and dashboards (masked)' },
  { id: 'readonly', name: 'Read-only — dashboards' },
];
