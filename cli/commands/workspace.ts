import type { Command } from 'commander';
import { operatorActor, withOperator } from '../operator.ts';
import { printResult } from '../output.ts';
import { workspaceInput } from '../../shared/workspaces/workspace-service.ts';

export function registerWorkspaceCommands(program: Command): void {
  const ws = program.command('workspace').description('workspace directory (operator)');

  ws.command('create')
    .description('create a workspace with its keys in its region')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--region <region>', 'eu or us (fixed for the workspace’s lifetime)')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; region: string; json?: boolean }) => {
      const input = workspaceInput.parse({ name: opts.name, region: opts.region }); // before touching a database
      const created = await withOperator((p) => p.workspaces.create(input, operatorActor()));
      printResult(!!opts.json, created, () => `created workspace ${created.id} (${created.name}, region ${created.region})`);
    });

  ws.command('list')
    .description('list workspaces')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await withOperator((p) => p.workspaces.list());
      printResult(!!opts.json, list, () => list.map((w) => `${w.id}  ${w.region}  ${w.name}`).join('\n') || '(no workspaces)');
    });

  ws.command('rotate-keys')
    .description('add a new version of the workspace’s data and hashing keys; old data keeps decrypting')
    .requiredOption('--workspace <id>', 'workspace id')
    .option('--json', 'print JSON')
    .action(async (opts: { workspace: string; json?: boolean }) => {
      await withOperator((p) => p.workspaces.rotateKeys(opts.workspace, operatorActor()));
      printResult(!!opts.json, { rotated: opts.workspace }, () => `rotated keys of ${opts.workspace}`);
    });
}
