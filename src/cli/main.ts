/**
 * `gatehouse <command> …`: a dispatch table of commands, each loaded only when named so that a one-shot command
 * starts fast (issue 4: a decision must print in well under a second). To add a command, add a row to COMMANDS.
 * Exit codes: whatever the command returns; 2 for an unknown command or missing arguments.
 */
import { pathToFileURL } from 'node:url';

export type CommandRunner = (args: readonly string[]) => Promise<number>;

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<CommandRunner>;
}

const COMMANDS = new Map<string, CommandEntry>([
  [
    'oidc',
    {
      summary: 'OpenID Provider maintenance: rotate a tenant\'s signing keys',
      load: async () => (await import('./oidc.js')).runOidc,
    },
  ],
  [
    'policy',
    {
      summary: 'validate policy files, list the action catalog, simulate a decision',
      load: async () => (await import('./policy.js')).runPolicy,
    },
  ],
]);

export function usage(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((k) => k.length));
  const lines = [...COMMANDS].map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: gatehouse <command> [arguments]',
    '',
    'commands:',
    ...lines,
    '',
    'Run "gatehouse <command> --help" for a command\'s usage.',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const entry = name === undefined ? undefined : COMMANDS.get(name);
  if (!entry) {
    if (name !== undefined) process.stderr.write(`gatehouse: unknown command "${name}"\n`);
    process.stderr.write(usage());
    return 2;
  }
  const run = await entry.load();
  return run(rest);
}

// Run directly (`node dist/cli/main.js …`, `tsx src/cli/main.ts …`); bin/gatehouse.js imports and calls main().
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
