// Prints the roles/permissions table for docs/identity.md (between the permissions-table markers).
import { permissionsMarkdown } from '../../shared/permissions/permissions.ts';

process.stdout.write(permissionsMarkdown() + '\n');
