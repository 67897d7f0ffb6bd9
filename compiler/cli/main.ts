// tinyforge command line. User errors print one line and exit 2; device/tool errors exit 3;
// validation mismatches exit 1. Only bugs print a stack trace.
//
// Start-up cost matters (`tinyforge --help` should feel instant), so this file loads only
// commander and the small modules the help text needs; each command's action imports its own
// code when it runs: the compiler for compile, TF.js only for quantize, ts-morph only for
// compile --ts, serialport only for commands that talk to a device.

import { Command, CommanderError, Option } from 'commander';
import { EXIT_USER_ERROR, TinyforgeError } from '../errors.ts';
import { TOOL_VERSION } from '../version.ts';
import { DEFAULT_HEAD_LEARNING } from '../adapt/head_learning.ts';
import type { OptimizeGoal } from '../passes/select_kernels.ts';
import type { ValidateCommandOptions } from './commands/validate.ts';
import { applyGlobalOptions, targetFromConfig } from './conventions.ts';
import { jsonEnvelope, takeJsonResult, writeJson } from './json_output.ts';
import { log } from './log.ts';
import { TARGETS } from './target_names.ts';
import { addStreamOptions, type StreamCliOptions } from '../stream/stream_cli_options.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const targetOption = (): Option => new Option('--target <target>', `where to run: ${TARGETS.join(', ')}`).default('ref');
const config = () => import('./config_options.ts');

/** What the current run is, for the JSON envelope: set before each action runs. */
let current: { command: string; json: boolean } | undefined;
const currentRun = (): { command: string; json: boolean } | undefined => current;

function buildProgram(): Command {
  const program = new Command('tinyforge')
    .description('Compile int8 TFLite models to static C for microcontrollers and validate them bit-exact.')
    .version(TOOL_VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  applyGlobalOptions(program);
  program.hook('preAction', (_program, action) => {
    current = { command: action.name(), json: action.opts<{ json?: boolean }>().json === true };
  });

  program
    .command('boards')
    .description('List the boards tinyforge knows (boards/*.json)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  tinyforge boards\n  tinyforge boards --json')
    .action(async (opts: { json?: boolean }) => (await import('./commands/boards.ts')).boardsCommand(opts));

  program
    .command('inspect')
    .description('Show the ops, tensors, quantization and MACs of a model')
    .argument('<model>', '.tflite file')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  tinyforge inspect ../shared/models/micro_speech.tflite')
    .action(async (model: string, opts: { json?: boolean }) => (await import('./commands/inspect.ts')).inspectCommand(model, opts));

  const compile = program
    .command('compile')
    .description('Emit a static C99 module (<prefix>.c/.h) for a model')
    .argument('[model]', '.tflite file (default: "model" of tinyforge.config.json)')
    .option('-b, --board <board>', 'board the module is for (checked for flash/RAM fit)', 'qemu-mps2-an386')
    .option('-o, --out <dir>', 'output directory (required unless "out" is in tinyforge.config.json)')
    .option('--prefix <name>', 'C symbol prefix (default: from the model file name)')
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--optimize <goal>', 'flash against speed: balanced widens the filters that gain most within 1/8 of the weights + 16 KiB and keeps INT4 fully connected filters packed; speed widens every convolution filter to int16 and unpacks INT4 filters (faster, more flash); size widens none and also keeps INT4 convolution filters packed').choices(['balanced', 'speed', 'size']).default('balanced'))
    .option('--ts', 'also write <prefix>.ts: typed I/O descriptors, quantize/dequantize, labels and a device client')
    .option('--labels <list>', 'class labels of output 0 for <prefix>.ts, comma-separated (implies --ts)')
    .option('--labels-file <file>', 'class labels for <prefix>.ts: one per line or a JSON array (implies --ts)')
    .option('--adapt <layer>', "'last': the last FULLY_CONNECTED becomes a head the device learns (<prefix>_enroll, _save, _load)")
    .option('--adapt-classes <n>', 'with --adapt: classes the head holds (default: the replaced layer\'s outputs)')
    .option('--adapt-epochs <n>', `with --adapt: epochs of integer SGD on the head after the class prototypes, over the replay buffer (0 = prototypes only; default ${DEFAULT_HEAD_LEARNING.epochs})`)
    .option('--adapt-replay <n>', `with --adapt: last enrolled examples the head keeps for SGD (default ${DEFAULT_HEAD_LEARNING.replay}; 0 with --adapt-epochs 0)`)
    .option('--arena-in <region>', "the whole arena in this RAM region of the board (ESP32-S3: psram or dram; default: split across the board's regions, hottest buffers in the fastest)")
    .option('--vocab <file>', 'WordPiece vocabulary of a text model (one token per line): also write <prefix>_tokenizer.c/.h with <prefix>_classify_text')
    .option('--frontend <pre.tflite>', 'audio front end (int16 PCM window -> int8 features): <model> becomes the classifier of a streaming pipeline, and <prefix>_frontend.c/.h and <prefix>_stream.c/.h (<prefix>_feed) are written too');
  addStreamOptions(compile)
    .addHelpText(
      'after',
      '\nWith --frontend the stream options apply; --labels / --labels-file name the classes (default for a\n' +
        '4-class model: silence,unknown,yes,no); "silence" and "unknown" are never detections.\n' +
        '\nExamples:\n  tinyforge compile ../shared/models/micro_speech.tflite -b qemu-mps2-an386 -o out/micro_speech\n' +
        '  tinyforge compile ../shared/audio/models/micro_speech_quantized.tflite --frontend ../shared/audio/models/audio_preprocessor_int8.tflite --prefix kws -o out/kws\n' +
        '  tinyforge compile ../shared/models/kws_dscnn.tflite -o out/kws --adapt last --adapt-classes 13   # learn a 13th keyword on the device\n' +
        '  tinyforge compile intent.tflite --vocab vocab.txt -o out/intent   # text model + on-device tokenizer\n' +
        '  tinyforge compile            # model, board, out and prefix from ./tinyforge.config.json',
    )
    .action(async (model: string | undefined, opts: { board: string; out?: string; prefix?: string; json?: boolean; ts?: boolean; labels?: string; labelsFile?: string; frontend?: string; optimize?: OptimizeGoal; adapt?: string; adaptClasses?: string; adaptEpochs?: string; adaptReplay?: string; arenaIn?: string; vocab?: string } & StreamCliOptions, cmd: Command) => {
      const { projectConfig, requireSetting, withConfig } = await config();
      // The config's prefix belongs to the config's model: another model keeps its own default.
      const o = withConfig({ ...opts, model }, projectConfig(), model === undefined ? ['model', 'board', 'out', 'prefix'] : ['board', 'out'], cmd);
      const { compileCommand } = await import('./commands/compile.ts');
      const { parseStreamOptions, streamOptionGiven } = await import('../stream/stream_cli_options.ts');
      const stray = o.frontend === undefined ? streamOptionGiven(o) : undefined;
      if (stray !== undefined) throw new TinyforgeError(`${stray} applies to a streaming pipeline: add --frontend <pre.tflite>`);
      await compileCommand(requireSetting(o.model, '<model>', 'model'), { ...o, out: requireSetting(o.out, '--out <dir>', 'out'), ...(o.frontend === undefined ? {} : { stream: parseStreamOptions(o) }) });
    });

  program
    .command('run')
    .description('Run one inference on raw tensor files')
    .argument('<model>', '.tflite file')
    .addOption(targetOption())
    .option('--input <file>', 'raw bytes of an input tensor (repeat per input)', collect, [])
    .option('--output <file>', 'where to write an output tensor (repeat per output)', collect, [])
    .addHelpText('after', '\nExample:\n  tinyforge run model.tflite --target host --input in.bin --output out.bin')
    .action(async (model: string, opts: { target: string; input: string[]; output: string[] }) => (await import('./commands/run.ts')).runCommand(model, opts));

  program
    .command('validate')
    .description('Run every case of a golden folder (or random cases) and compare outputs byte for byte')
    .argument('[model]', '.tflite file (default: "model" of tinyforge.config.json)')
    .addOption(targetOption())
    .option('-b, --board <board>', 'validate on a board through the serial agent (QEMU boards are built and booted for you)')
    .option('-p, --port <path>', 'real boards: serial port (default: the only matching USB serial device); refused for QEMU boards')
    .option('--image <file>', 'real boards: firmware image to flash first')
    .option('--no-flash', 'real boards: the board already runs the agent firmware; refused for QEMU boards')
    .option('--profile', 'with --board: per-layer counts of the last case (instructions on QEMU boards, cycles on real ones)')
    .option('--profile-out <file>', 'write the per-layer profile as JSON (for tinyforge report --profile)')
    .option('--golden <dir>', 'folder with manifest.json and raw tensors (format of ../shared/golden)')
    .option('--random <n>', 'instead of --golden: n random cases checked against the TS reference')
    .option('--steps <k>', 'with --random: k invokes per case on one model instance, state carried (stateful models)')
    .option('--enroll <spec.json>', 'with --board: compile with --adapt last, enroll and classify the spec\'s inputs on the device, each step checked against the TS reference')
    .option('--adapt-classes <n>', 'with --enroll: classes of the learnable head')
    .option('--adapt-epochs <n>', "with --enroll: SGD epochs of the head (default: the spec's \"epochs\", else compile's default)")
    .option('--adapt-replay <n>', "with --enroll: replay slots of the head (default: the spec's \"replay\", else compile's default)")
    .option('--sanitize', 'host target: build with AddressSanitizer and UndefinedBehaviorSanitizer')
    .option('--timeout <seconds>', 'with --board: wait this long for one inference before the board counts as gone (default 30)')
    .option('--text <file>', 'with --board and --vocab: sentences (one per line) tokenized and classified on the device (TEXT); ids and scores compared with the host reference')
    .option('--vocab <file>', 'with --text: the text model\'s WordPiece vocabulary (the firmware gets its tokenizer)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  tinyforge validate ../shared/models/micro_speech.tflite -b qemu-mps2-an386 --golden ../shared/golden/micro_speech\n' +
        '  tinyforge validate intent.tflite -b qemu-mps2-an386 --vocab vocab.txt --text sentences.txt   # text model, tokenizer on the device\n' +
        '  tinyforge validate ../shared/models/micro_speech.tflite --target qemu-mps2-an386 --golden ../shared/golden/micro_speech   # semihosting, no agent\n' +
        '  tinyforge validate ../shared/models/kws_dscnn.tflite --target qemu-xtensa-lx106 --golden ../shared/golden/kws_dscnn   # Xtensa (ESP8266 core)\n' +
        '  tinyforge validate model.tflite --target host --random 16 --sanitize\n' +
        '  tinyforge validate model.tflite -b esp32-devkitc -p /dev/ttyUSB0 --image build/app.bin --random 8\n' +
        '  tinyforge validate ../shared/models/kws_dscnn.tflite -b qemu-mps2-an386 --random 4 --profile\n' +
        '  tinyforge validate ../shared/models/kws_dscnn.tflite -b qemu-mps2-an386 --enroll enroll.json --adapt-classes 13\n' +
        '  tinyforge validate           # model, golden and board from ./tinyforge.config.json',
    )
    .action(
      async (
        model: string | undefined,
        opts: ValidateCommandOptions,
        cmd: Command,
      ) => {
        const { projectConfig, requireSetting, withConfig } = await config();
        const cfg = projectConfig();
        // The config's golden folder belongs to the config's model; --random replaces it.
        const o = withConfig({ ...opts, model }, cfg, model !== undefined ? [] : opts.random === undefined && opts.enroll === undefined ? ['model', 'golden'] : ['model'], cmd);
        const targetGiven = cmd.getOptionValueSource('target') === 'cli';
        // Without --target, a configured board is validated through its serial agent.
        if (o.board === undefined && !targetGiven && cfg !== undefined) o.board = cfg.board;
        if (o.board === undefined) o.target = targetFromConfig(o.target, cfg, TARGETS, cmd);
        const { validateCommand } = await import('./commands/validate.ts');
        process.exitCode = await validateCommand(requireSetting(o.model, '<model>', 'model'), o);
      },
    );

  const listen = program
    .command('listen')
    .description('Stream a WAV file through the wake-word pipeline on a board (FEED over the serial agent) and compare features, scores and detections with the host reference')
    .argument('<file.wav>', '16-bit PCM mono WAV')
    .requiredOption('--frontend <pre.tflite>', 'audio front end (int16 PCM window -> int8 features)')
    .requiredOption('--model <classifier.tflite>', 'classifier over the feature window')
    .option('-b, --board <board>', 'a QEMU serial board', 'qemu-mps2-an386')
    .option('--chunk-ms <ms>', 'audio per FEED request (default: the stride, i.e. real-time-sized chunks; at most 512 samples)')
    .option('--prefix <name>', 'C symbol prefix of the pipeline (default: from the classifier file name)')
    .option('--labels <list>', 'class labels, comma-separated (default for 4 classes: silence,unknown,yes,no)')
    .option('--labels-file <file>', 'class labels: one per line or a JSON array')
    .option('--json', 'print JSON: detections [{time_ms, label, score}], the host\'s, differences, per-frame cost');
  addStreamOptions(listen, "the WAV file's")
    .addHelpText(
      'after',
      '\nExit code 1 when any feature row, score or detection differs between the board and the host reference.\n' +
        '\nExample:\n  tinyforge listen ../shared/audio/wav/yes_1000ms.wav --frontend ../shared/audio/models/audio_preprocessor_int8.tflite \\\n' +
        '      --model ../shared/audio/models/micro_speech_quantized.tflite -b qemu-mps2-an386',
    )
    .action(async (wav: string, opts: { frontend: string; model: string; board: string; chunkMs?: string; prefix?: string; labels?: string; labelsFile?: string; json?: boolean } & StreamCliOptions) => {
      const { parseStreamOptions } = await import('../stream/stream_cli_options.ts');
      const chunkMs = opts.chunkMs === undefined ? undefined : Number(opts.chunkMs);
      if (chunkMs !== undefined && !Number.isFinite(chunkMs)) throw new TinyforgeError(`--chunk-ms '${opts.chunkMs}': expected a number`);
      const { listenCommand } = await import('./commands/listen.ts');
      const { chunkMs: _given, ...rest } = opts;
      process.exitCode = await listenCommand(wav, { ...rest, ...(chunkMs === undefined ? {} : { chunkMs }), stream: parseStreamOptions(opts) });
    });

  program
    .command('quantize')
    .description('Quantize a float TF.js model (model.json) to an int8 (or int16x8) .tflite, optionally pruned')
    .argument('<model.json>', 'TF.js layers or graph model')
    .requiredOption('--calib <data>', 'calibration inputs: a .npy file or a folder of .npy / raw float32 files')
    .requiredOption('-o, --out <file.tflite>', 'where to write the quantized model')
    .option('--activations <type>', "int8 (default) or int16: TFLite's 16x8 mode (int16 activations, int8 weights, int64 biases), more accurate, twice the activation memory")
    .option('--prune <sparsity>', 'magnitude-prune FC and conv weights to this fraction of zeros (0..0.99)')
    .option('--prune-block <n>', 'prune single weights (1, default) or 4x4 tiles (4)')
    .option('--prune-channels <fraction>', 'remove this fraction of the output channels of CONV_2D/FC layers whose consumers can follow (0..0.95), lowest L1 norm first')
    .option('--prune-scope <scope>', 'layer (default: every layer reaches the target) or global (smallest weights or channels of all layers first)')
    .option('--calibration <method>', 'activation ranges: minmax (default), percentile, or mse (least quantization error)')
    .option('--percentile <p>', 'with --calibration percentile (implied): clip activation ranges to the p-th percentile')
    .option('--labels <file>', 'class labels of the --calib samples (.npy or one integer per line): accuracy table and fine-tuning data')
    .option('--test-data <data>', 'held-out samples for the accuracy table (.npy or folder); with --test-labels')
    .option('--test-labels <file>', 'labels of --test-data')
    .option('--finetune <epochs>', 'after pruning, train the pruned float model on the labelled --calib samples for this many epochs (pruned weights stay zero)')
    .option('--learning-rate <lr>', 'Adam learning rate for --finetune (default 0.001)')
    .option('--batch-size <n>', 'batch size for --finetune and --teacher (default 32)')
    .option('--teacher <model.json>', 'distill first: train the model on a mix of this TF.js teacher\'s softened outputs and the --labels (needs --labels); with --finetune the pruned model keeps learning from it')
    .option('--temperature <T>', 'with --teacher: softmax temperature of the soft targets (default 4)')
    .option('--alpha <a>', 'with --teacher: weight of the labels\' loss, 1 - a goes to the teacher (default 0.5)')
    .option('--distill-epochs <n>', 'with --teacher: epochs of distillation before pruning and quantizing (default 10)')
    .option('--distill-mixup', "with --teacher: match the teacher's softened outputs on fresh mixup inputs every step (two --calib samples mixed with a random weight, the same input to teacher and student; function matching), not only on the labelled samples; about twice the training time")
    .option('--no-distill-mixup', 'with --teacher (the default): match the teacher on the labelled samples only (classic distillation)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  tinyforge quantize model/model.json --calib calib.npy -o model_int8.tflite\n' +
        '  tinyforge quantize model/model.json --calib calib.npy --activations int16 -o model_16x8.tflite\n' +
        '  tinyforge quantize model/model.json --calib calib/ --prune 0.8 --prune-block 4 -o model_pruned.tflite\n' +
        '  tinyforge quantize model/model.json --calib train_x.npy --labels train_y.npy --test-data test_x.npy --test-labels test_y.npy \\\n' +
        '      --prune 0.8 --finetune 5 --calibration mse -o model_pruned.tflite\n' +
        '  tinyforge quantize student/model.json --calib train_x.npy --labels train_y.npy --teacher teacher/model.json \\\n' +
        '      --temperature 4 --alpha 0.1 --distill-epochs 60 --distill-mixup -o student_int8.tflite',
    )
    .action(async (model: string, opts: import('./commands/quantize.ts').QuantizeCommandOptions) => (await import('./commands/quantize.ts')).quantizeCommand(model, opts));

  program
    .command('build')
    .description('Build the model with the on-device validation agent: an ELF for QEMU boards, an SDK project otherwise')
    .argument('[model]', '.tflite file (default: "model" of tinyforge.config.json)')
    .option('-b, --board <board>', 'target board (see tinyforge boards)')
    .option('-o, --out <dir>', 'output directory')
    .option('--arena-in <region>', "the whole arena in this RAM region of the board (ESP32-S3: psram or dram; default: split across the board's regions)")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  tinyforge build ../shared/models/kws_dscnn.tflite -b qemu-mps2-an386 -o out/kws-fw\n' +
        '  tinyforge build ../shared/models/kws_dscnn.tflite -b esp32-s3-devkitc-1 -o out/kws-esp32s3   # ESP-IDF project\n' +
        '  tinyforge build ../shared/models/kws_dscnn.tflite -b esp32-s3-devkitc-1 -o out/kws-psram --arena-in psram',
    )
    .action(async (model: string | undefined, opts: { board?: string; out?: string; arenaIn?: string; json?: boolean }, cmd: Command) => {
      const { projectConfig, requireSetting, withConfig } = await config();
      const o = withConfig({ ...opts, model }, projectConfig(), ['model', 'board', 'out'], cmd);
      const { buildCommand } = await import('./commands/device.ts');
      await buildCommand(requireSetting(o.model, '<model>', 'model'), {
        board: requireSetting(o.board, '--board', 'board'),
        out: requireSetting(o.out, '--out', 'out'),
        ...(o.arenaIn === undefined ? {} : { arenaIn: o.arenaIn }),
        json: o.json,
      });
    });

  program
    .command('flash')
    .description('Write a firmware image to a real board (ESP ROM loader, STM32 UART bootloader, UF2 drive or an external tool)')
    .option('-b, --board <board>', 'target board (see tinyforge boards)')
    .option('-p, --port <path>', 'serial port (default: the only matching USB serial device)')
    .option('--image <file>', 'raw binary image to write')
    .option('--address <addr>', 'where the image goes (default: the board file\'s app offset / flash base)')
    .option('--drive <dir>', 'UF2 boards: mount point of the bootloader drive (default: found by its volume label)')
    .option('--elf <file>', 'the ELF of the image, for external tools that take one ({elf})')
    .option('--flasher-args <file>', 'ESP boards: flash the whole ESP-IDF image set (bootloader, partition table, app) named by build/flasher_args.json')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  tinyforge flash -b esp32-devkitc -p /dev/ttyUSB0 --image build/tinyforge_agent.bin\n  tinyforge flash -b esp32-s3-devkitc-1 -p /dev/ttyUSB0 --flasher-args build/flasher_args.json   # bootloader + partition table + app\n  tinyforge flash -b rpi-pico --image build/tinyforge_agent.bin')
    .action(async (opts: { board?: string; port?: string; image?: string; address?: string; drive?: string; elf?: string; flasherArgs?: string; json?: boolean }, cmd: Command) => {
      const { projectConfig, requireSetting, withConfig } = await config();
      const o = withConfig(opts, projectConfig(), ['board', 'port'], cmd);
      const { flashCommand } = await import('./commands/device.ts');
      await flashCommand({ ...o, board: requireSetting(o.board, '--board', 'board') });
    });

  program
    .command('monitor')
    .description('Show what a board sends on its UART: plain text as it arrives, or (--agent) what the validation agent reports')
    .option('-b, --board <board>', 'board, for its baud rate and USB ids (see tinyforge boards)')
    .option('-p, --port <path>', 'serial port (default: the only USB serial device matching the board)')
    .option('--baud <rate>', 'line speed (default: the board file\'s, else 115200)')
    .option('--agent', 'talk to the tinyforge agent: print its HELLO (model, counter, arena) and STATS, then exit')
    .option('--timeout <seconds>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('--json', 'with --agent: print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  tinyforge monitor -b nucleo-f446re            # plain UART output until Ctrl-C\n' +
        '  tinyforge monitor -p /dev/ttyACM0 --baud 115200 --timeout 10\n' +
        '  tinyforge monitor -b esp32-devkitc --agent     # which model the agent runs, its counter and statistics',
    )
    .action(async (opts: { board?: string; port?: string; baud?: string; agent?: boolean; timeout?: string; json?: boolean }, cmd: Command) => {
      const { projectConfig, withConfig } = await config();
      const o = withConfig(opts, projectConfig(), ['board', 'port'], cmd);
      const { monitorCommand } = await import('./commands/monitor.ts');
      await monitorCommand(o);
    });

  program
    .command('ports')
    .description('List serial ports and the boards whose USB ids they match')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  tinyforge ports')
    .action(async (opts: { json?: boolean }) => (await import('./commands/device.ts')).portsCommand(opts));

  program
    .command('bench')
    .description('Count instructions per inference under QEMU (-icount) and measure flash, RAM and stack')
    .argument('<model>', '.tflite file')
    .option('-b, --board <board>', 'QEMU board', 'qemu-mps2-an386')
    .option('--runs <n>', 'measured invokes after one warm-up', '5')
    .addOption(new Option('--optimize <goal>', 'flash against speed, as for compile').choices(['balanced', 'speed', 'size']).default('balanced'))
    .option('--profile', 'also count the instructions of every layer (model built with -DTF_PROFILE)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  tinyforge bench ../shared/models/kws_dscnn.tflite -b qemu-mps2-an386 --json\n' +
        '  tinyforge bench ../shared/models/kws_dscnn.tflite -b qemu-xtensa-lx106 --profile   # exact counts (QEMU plugin)',
    )
    .action(async (model: string, opts: { board: string; runs: string; json?: boolean; profile?: boolean; optimize?: OptimizeGoal }) => (await import('./commands/bench.ts')).benchCommand(model, opts));

  program
    .command('init')
    .description('Write tinyforge.config.json (board, model, out) so that commands run here need fewer flags')
    .option('-b, --board <board>', 'board id (default: qemu-mps2-an386)')
    .option('--model <file>', '.tflite model (default: the only .tflite file in the directory)')
    .option('--force', 'overwrite an existing config file')
    .addHelpText(
      'after',
      '\nExamples:\n  tinyforge init -b qemu-mps2-an386 --model models/kws.tflite\n' +
        '  tinyforge init -b nucleo-f446re --force   # replace the existing tinyforge.config.json',
    )
    .action(async (opts: { board?: string; model?: string; force?: boolean }) => {
      const { configFilePath } = await config();
      (await import('./commands/init.ts')).initCommand(configFilePath(), opts);
    });

  program
    .command('doctor')
    .description('Check Node, npm packages, cross toolchains, QEMU, board SDK tools, serial permissions and attached boards')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit code 0 when everything the QEMU boards need is present, else 2; missing items for\n' +
        'real boards, the host target or the test suites are listed with their install command.\n' +
        '\nExamples:\n  tinyforge doctor\n  tinyforge doctor --json',
    )
    .action(async (opts: { json?: boolean }) => {
      process.exitCode = await (await import('./commands/doctor.ts')).doctorCommand(opts);
    });

  program
    .command('report')
    .description('Write a self-contained HTML report: summary, layers, arena picture, flash/RAM budget')
    .argument('<model>', '.tflite file')
    .option('-b, --board <board>', 'board whose flash and RAM budget to show', 'qemu-mps2-an386')
    .requiredOption('-o, --out <file>', 'HTML file to write')
    .option('--profile <file>', 'per-layer counts written by validate --profile-out')
    .option('--json', 'also print the report data as JSON')
    .addHelpText('after', '\nExample:\n  tinyforge report ../shared/models/kws_dscnn.tflite -b nucleo-f446re -o report.html')
    .action(async (model: string, opts: { board: string; out: string; profile?: string; json?: boolean }) => (await import('./commands/report.ts')).reportCommand(model, opts));

  return program;
}

/** The command named on the command line, for an envelope when parsing failed before any action ran. */
function commandFromArgv(program: Command, argv: readonly string[]): string {
  const names = new Set(program.commands.map((c) => c.name()));
  return argv.find((a) => names.has(a)) ?? '';
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  current = undefined;
  takeJsonResult();
  let code: number;
  let message: string | undefined;
  try {
    process.exitCode = undefined;
    await program.parseAsync([...argv], { from: 'user' });
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      code = e.exitCode === 0 ? 0 : EXIT_USER_ERROR;
      // commander already printed its message; help and --version are not JSON requests.
      if (code === 0) return 0;
      message = e.message.replace(/^error: /, '');
    } else if (e instanceof TinyforgeError) {
      log.error(e.message);
      code = e.exitCode;
      message = e.message;
    } else {
      throw e;
    }
  }
  const run = currentRun();
  const json = run?.json ?? argv.includes('--json');
  const produced = takeJsonResult();
  if (json) writeJson(jsonEnvelope(run?.command ?? commandFromArgv(program, argv), code, produced?.result ?? null, message ?? produced?.failure));
  return code;
}

/** The `tinyforge` executable: runs main() on process.argv and sets the exit code. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `tinyforge boards | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const code = await main(argv);
  process.exitCode = code;
}

// `tsx compiler/cli/main.ts ...` during development; bin/tinyforge.mjs calls runCli() itself.
if (process.argv[1] !== undefined && /cli[\\/]main\.[jt]s$/.test(process.argv[1])) await runCli();
