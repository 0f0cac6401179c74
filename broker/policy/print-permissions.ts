// Prints the roles/permissions table for README.md (between the permissions-table markers).
import { permissionsMarkdown } from './permissions.ts';

process.stdout.write(permissionsMarkdown() + '\n');
