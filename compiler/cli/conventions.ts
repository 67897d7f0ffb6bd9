// What every tinyforge command shares: --quiet, --verbose and --config, and the exit codes at the
// end of every --help.

import { Command, Option } from 'commander';
import { CONFIG_FILE_NAME } from '../config/config_file_name.ts';
import type { ProjectConfig } from '../config/project_config.ts';
import { setConfigOption } from './global_options.ts';
import { setLogLevel } from './log.ts';

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  validation mismatch (an output differs from the expected one)
  2  user error: bad flags, model or config, model does not fit the board;
     doctor: something the QEMU boards need is missing
  3  tool or device error: compiler failure, emulator crash or timeout, no answer from a board

Colour is used only on a terminal and never when NO_COLOR is set.
Settings missing from the command line come from ./${CONFIG_FILE_NAME} (or --config <file>).
Docs: docs/cli.md`;

export interface GlobalOptions {
  quiet?: boolean;
  verbose?: boolean;
  config?: string;
}

/** Adds the global options and the exit-code epilog, and applies the options before each action. */
export function applyGlobalOptions(program: Command): Command {
  program
    .addOption(new Option('--quiet', 'print only results and errors (no progress or info lines)').conflicts('verbose'))
    .addOption(new Option('--verbose', 'also print details: which config file and settings were used, step timings'))
    .addOption(new Option('--config <file>', `project config to read (default: ./${CONFIG_FILE_NAME} when present)`))
    .addHelpText('afterAll', EXIT_CODES_HELP)
    // Inherited by the subcommands added afterwards: their --help lists --quiet/--verbose/--config.
    .configureHelp({ showGlobalOptions: true })
    .hook('preAction', (_program, action) => {
      const g = action.optsWithGlobals<GlobalOptions>();
      setLogLevel(g.quiet ? 'quiet' : g.verbose ? 'verbose' : 'normal');
      setConfigOption(g.config);
    });
  return program;
}

/**
 * For commands with --target (validate, run): the config's board becomes the target when
 * --target was not given on the command line and the board is also a target name
 * (e.g. qemu-mps2-an386). Otherwise `target` is returned unchanged.
 */
export function targetFromConfig(
  target: string,
  config: ProjectConfig | undefined,
  targets: readonly string[],
  cmd: Pick<Command, 'getOptionValueSource'>,
): string {
  const source = cmd.getOptionValueSource('target');
  if (config === undefined || (source !== undefined && source !== 'default')) return target;
  return targets.includes(config.board) ? config.board : target;
}
