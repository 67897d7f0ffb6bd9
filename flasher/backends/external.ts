// Flashing with a vendor or community tool named in the board file (`flashing.command`), e.g.
// probe-rs for SWD probes or bossac for the Arduino SAM-BA bootloader. The argv is run as is,
// without a shell, after substituting `{image}`, `{elf}` and `{port}`.

import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Board, BoardFlashing } from '../../compiler/boards/board_schema.ts';
import { TinyforgeError, EXIT_USER_ERROR } from '../../compiler/errors.ts';
import { FlashError, checkImageNotEmpty, type FlashBackend, type FlashImage, type FlashOptions, type FlashResult } from '../backend.ts';

type ExternalFlashing = Extract<BoardFlashing, { method: 'external' }>;

/** How to get the tools board files name today. */
export const INSTALL_HINTS: Record<string, string> = {
  'probe-rs': 'install it with `cargo install probe-rs-tools --locked` or the installer at probe.rs',
  bossac: 'install it with `sudo apt-get install bossa-cli` or with the Arduino IDE (Arduino SAMD/mbed core)',
  openocd: 'install it with `sudo apt-get install openocd`',
  'st-flash': 'install it with `sudo apt-get install stlink-tools`',
  'dfu-util': 'install it with `sudo apt-get install dfu-util`',
  avrdude: 'install it with `sudo apt-get install avrdude`',
  picotool: 'build it from the Raspberry Pi picotool sources or install your distribution\'s picotool package',
  'esptool.py': 'install it with `pip install esptool`',
  esptool: 'install it with `pip install esptool`',
  nrfjprog: 'install Nordic\'s nRF Command Line Tools',
  'nrfutil': 'install it from Nordic\'s nRF Util download page',
};

/** Lines of the tool's output kept for the error message. */
const TAIL_LINES = 15;

export interface ExternalConfig {
  /** Kill the tool after this long (default 5 minutes; FlashOptions.timeoutMs overrides). */
  timeoutMs?: number;
}

/** `command` with the placeholders replaced; a placeholder without a value is a user error. */
export function substitute(board: Board, command: string[], values: { image?: string; elf?: string; port?: string }): string[] {
  return command.map((arg) =>
    arg.replace(/\{(image|elf|port)\}/g, (_m, key: 'image' | 'elf' | 'port') => {
      const v = values[key];
      if (v === undefined) {
        const how = key === 'port' ? 'pass --port' : key === 'elf' ? 'build it with an ELF (the flasher needs its path)' : 'give an image file';
        throw new TinyforgeError(`board ${board.id} flashes with \`${command.join(' ')}\`, which needs {${key}}: ${how}`, EXIT_USER_ERROR);
      }
      return v;
    }),
  );
}

export class ExternalToolBackend implements FlashBackend {
  readonly method = 'external';

  constructor(
    private readonly board: Board,
    private readonly flashing: ExternalFlashing,
    private readonly config: ExternalConfig = {},
  ) {}

  async flash(image: FlashImage, opts: FlashOptions): Promise<FlashResult> {
    const started = Date.now();
    const log = opts.log ?? (() => {});
    const progress = opts.onProgress ?? (() => {});
    const usesImage = this.flashing.command.some((a) => a.includes('{image}'));
    if (usesImage && !image.imagePath) checkImageNotEmpty(image);

    let tmpDir: string | undefined;
    try {
      let imagePath = image.imagePath;
      if (usesImage && !imagePath) {
        tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tinyforge-flash-'));
        imagePath = path.join(tmpDir, 'image.bin');
        await fs.writeFile(imagePath, image.data);
      }
      const values: { image?: string; elf?: string; port?: string } = {};
      if (imagePath !== undefined) values.image = imagePath;
      if (image.elfPath !== undefined) values.elf = image.elfPath;
      if (opts.port !== undefined) values.port = opts.port;
      const argv = substitute(this.board, this.flashing.command, values);
      const [program, ...args] = argv as [string, ...string[]];
      log(`running ${argv.map(quote).join(' ')}`);
      progress({ phase: 'write', done: 0, total: 1 });
      await this.run(program, args, opts.timeoutMs ?? this.config.timeoutMs ?? 300_000, log, opts.signal);
      progress({ phase: 'write', done: 1, total: 1 });
      return { bytesWritten: image.data.byteLength, verified: false, method: this.method, seconds: (Date.now() - started) / 1000 };
    } finally {
      if (tmpDir) await fs.rm(tmpDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  private run(program: string, args: string[], timeoutMs: number, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const tail: string[] = [];
      const partials = { out: '', err: '' };
      const take = (key: 'out' | 'err', chunk: Buffer): void => {
        const text = partials[key] + chunk.toString('utf8');
        const lines = text.split(/\r?\n|\r/);
        partials[key] = lines.pop() ?? '';
        for (const l of lines) emit(l);
      };
      const emit = (line: string): void => {
        if (line.trim() === '') return;
        log(line);
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      };
      const flush = (): void => {
        emit(partials.out);
        emit(partials.err);
        partials.out = partials.err = '';
      };
      const tailText = (): string => (tail.length ? `; last output: ${tail.join(' | ')}` : '; it printed nothing');

      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };

      let child;
      try {
        child = spawn(program, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        finish(new FlashError('connect', `cannot start ${program}: ${(e as Error).message}`, 'untouched'));
        return;
      }
      const kill = (): void => {
        child.kill('SIGTERM');
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }, 2000).unref();
      };
      const timer = setTimeout(() => {
        kill();
        flush();
        finish(new FlashError('write', `${program} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped${tailText()}`, 'partial'));
      }, timeoutMs);
      const onAbort = (): void => {
        kill();
        finish(new FlashError('write', `cancelled while ${program} was running`, 'partial'));
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout.on('data', (c: Buffer) => take('out', c));
      child.stderr.on('data', (c: Buffer) => take('err', c));
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') {
          const hint = INSTALL_HINTS[path.basename(program)] ?? 'install it, or edit flashing.command in the board file';
          finish(new FlashError('connect', `${program} (the flasher board ${this.board.id} uses) was not found on PATH: ${hint}`, 'untouched'));
        } else if (e.code === 'EACCES') {
          finish(new FlashError('connect', `${program} is not executable (${e.message})`, 'untouched'));
        } else {
          finish(new FlashError('write', `${program}: ${e.message}`, 'partial'));
        }
      });
      child.on('close', (code, sig) => {
        flush();
        if (code === 0) finish();
        else if (sig) finish(new FlashError('write', `${program} was killed by ${sig}${tailText()}`, 'partial'));
        else finish(new FlashError('write', `${program} exited with status ${code ?? '?'}${tailText()}`, 'partial'));
      });
    });
  }
}

function quote(a: string): string {
  return /^[\w@%+=:,./{}-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
