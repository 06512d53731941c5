// The command line as data, read from commander's own definitions: the man page and the shell
// completion are rendered from it, so neither is written a second time beside main.ts.
import type { EventEmitter } from 'node:events';
import type { Command, Option } from 'commander';

export interface OptionReference {
  /** As declared: '-c, --config <file>'. */
  flags: string;
  long: string | undefined;
  short: string | undefined;
  description: string;
  /** The value's name ('file', 'sql'); undefined for a switch. */
  valueName: string | undefined;
  defaultValue: string | undefined;
  required: boolean;
}

export interface ArgumentReference {
  name: string;
  description: string;
  required: boolean;
  /** The values it takes, when it names them (completion offers them). */
  choices: readonly string[] | undefined;
}

export interface CommandReference {
  /** ['checkpoint', 'set']; [] for the program itself. */
  path: string[];
  description: string;
  usage: string;
  arguments: ArgumentReference[];
  options: OptionReference[];
  /** The text a command adds after its --help (notes, examples). */
  afterHelp: string;
  subcommands: CommandReference[];
}

export function describeCommand(command: Command, parents: string[] = []): CommandReference {
  const path = command.parent ? [...parents, command.name()] : [];
  return {
    path,
    description: command.description(),
    usage: command.usage(),
    arguments: command.registeredArguments.map((argument) => ({ name: argument.name(), description: argument.description, required: argument.required, choices: argument.argChoices })),
    options: [...command.options.map(describeOption), ...helpOption(command)],
    afterHelp: afterHelpOf(command),
    subcommands: command.commands.map((sub) => describeCommand(sub, path)),
  };
}

/** Every command with an action of its own, depth first: 'checkpoint' itself only groups. */
export function leafCommands(reference: CommandReference): CommandReference[] {
  if (reference.subcommands.length === 0) return [reference];
  return reference.subcommands.flatMap(leafCommands);
}

function describeOption(option: Option): OptionReference {
  const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags);
  const fallback = option.defaultValue as unknown;
  return {
    flags: option.flags,
    long: option.long,
    short: option.short,
    description: option.description,
    valueName: value?.[1],
    defaultValue: typeof fallback === 'string' ? fallback : undefined,
    required: option.mandatory,
  };
}

/** commander adds -h, --help to every command without listing it among the options. */
function helpOption(command: Command): OptionReference[] {
  const help = command.createHelp().visibleOptions(command).find((option) => option.long === '--help');
  return help ? [describeOption(help)] : [];
}

/** addHelpText('after', ...) writes through commander's 'afterHelp' event; it is caught here instead of printed. */
function afterHelpOf(command: Command): string {
  let text = '';
  // commander's Command is an EventEmitter, which its typings do not say.
  (command as unknown as EventEmitter).emit('afterHelp', { error: false, command, write: (chunk: string) => (text += chunk) });
  return text.trim();
}
