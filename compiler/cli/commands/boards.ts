import { loadBoards } from '../../boards/load_boards.ts';
import { setJsonResult } from '../json_output.ts';
import { formatInt, table } from '../format.ts';

export function boardsCommand(opts: { json?: boolean }): void {
  const boards = loadBoards();
  if (opts.json) {
    setJsonResult({ boards });
    return;
  }
  console.log(
    table(
      ['board', 'core', 'features', 'clock MHz', 'flash KiB', 'RAM KiB', 'counts', 'flashing', 'name'],
      boards.map((b) => [
        b.id,
        b.core,
        b.features.join(',') || '-',
        b.clockHz / 1e6,
        b.memory.flash.size / 1024,
        b.memory.ram.size / 1024,
        b.flashing.method === 'qemu' ? 'instructions' : 'cycles',
        b.flashing.method,
        b.name,
      ]),
    ),
  );
  console.log(
    `\n${formatInt(boards.length)} boards (files in boards/). clock MHz: the core clock tinyforge's firmware runs at; ` +
      'counts: what validate --board and --profile report (QEMU models no cycles: its boards count instructions)',
  );
}
