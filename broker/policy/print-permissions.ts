// Prints the roles/permissions table for docs/identity.md (between the permissions-table markers).
import { permissionsMarkdown } from './permissions.ts';

process.stdout.write(permissionsMarkdown() + '\n');
