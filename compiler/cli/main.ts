// tinyforge command line. User errors print one line and exit 2; device/tool errors exit 3;
// validation mismatches exit 1. Only bugs print a stack trace.

import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import { EXIT_USER_ERROR, TinyforgeError } from '../errors.ts';
import { TOOL_VERSION } from '../version.ts';
import { benchCommand } from './commands/bench.ts';
import { boardsCommand } from './commands/boards.ts';
import { compileCommand } from './commands/compile.ts';
import { inspectCommand } from './commands/inspect.ts';
import { runCommand } from './commands/run.ts';
import { validateCommand } from './commands/validate.ts';
import { TARGETS } from './targets.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const targetOption = (): Option => new Option('--target <target>', `where to run: ${TARGETS.join(', ')}`).default('ref');

function buildProgram(): Command {
  const program = new Command('tinyforge')
    .description('Compile int8 TFLite models to static C for microcontrollers and validate them bit-exact.')
    .version(TOOL_VERSION)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('boards')
    .description('List the boards tinyforge knows (boards/*.json)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => boardsCommand(opts));

  program
    .command('inspect')
    .description('Show the ops, tensors, quantization and MACs of a model')
    .argument('<model>', '.tflite file')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  tinyforge inspect ../shared/models/micro_speech.tflite')
    .action((model: string, opts: { json?: boolean }) => inspectCommand(model, opts));

  program
    .command('compile')
    .description('Emit a static C99 module (<prefix>.c/.h) for a model')
    .argument('<model>', '.tflite file')
    .option('--board <board>', 'board the module is for (checked for flash/RAM fit)', 'qemu-mps2-an386')
    .requiredOption('--out <dir>', 'output directory')
    .option('--prefix <name>', 'C symbol prefix (default: from the model file name)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExample:\n  tinyforge compile ../shared/models/micro_speech.tflite --board qemu-mps2-an386 --out out/micro_speech')
    .action((model: string, opts: { board: string; out: string; prefix?: string; json?: boolean }) => compileCommand(model, opts));

  program
    .command('run')
    .description('Run one inference on raw tensor files')
    .argument('<model>', '.tflite file')
    .addOption(targetOption())
    .option('--input <file>', 'raw bytes of an input tensor (repeat per input)', collect, [])
    .option('--output <file>', 'where to write an output tensor (repeat per output)', collect, [])
    .addHelpText('after', '\nExample:\n  tinyforge run model.tflite --target host --input in.bin --output out.bin')
    .action(async (model: string, opts: { target: string; input: string[]; output: string[] }) => runCommand(model, opts));

  program
    .command('validate')
    .description('Run every case of a golden folder and compare outputs byte for byte')
    .argument('<model>', '.tflite file')
    .addOption(targetOption())
    .option('--golden <dir>', 'folder with manifest.json and raw tensors (format of ../shared/golden)')
    .option('--random <n>', 'instead of --golden: n random cases checked against the TS reference')
    .option('--sanitize', 'host target: build with AddressSanitizer and UndefinedBehaviorSanitizer')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  tinyforge validate ../shared/models/micro_speech.tflite --target qemu-mps2-an386 --golden ../shared/golden/micro_speech\n' +
        '  tinyforge validate examples/micro_speech/micro_speech.tflite --target host --random 16 --sanitize',
    )
    .action(async (model: string, opts: { target: string; golden?: string; random?: string; json?: boolean; sanitize?: boolean }) => {
      process.exitCode = await validateCommand(model, opts);
    });

  program
    .command('bench')
    .description('Count instructions per inference under QEMU and measure flash, RAM and stack')
    .argument('<model>', '.tflite file')
    .option('--board <board>', 'QEMU board', 'qemu-mps2-an386')
    .option('--runs <n>', 'measured invokes after one warm-up', '5')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  tinyforge bench ../shared/models/kws_dscnn.tflite --board qemu-mps2-an386 --json')
    .action(async (model: string, opts: { board: string; runs: string; json?: boolean }) => benchCommand(model, opts));

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT_USER_ERROR;
    }
    if (e instanceof TinyforgeError) {
      process.stderr.write(`${pc.red('error:')} ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /cli[\\/]main\.ts$/.test(process.argv[1]);
const invokedFromBin = process.argv[1] !== undefined && /tinyforge(\.mjs)?$/.test(process.argv[1]);
if (invokedDirectly || invokedFromBin) {
  // `tinyforge boards | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}
