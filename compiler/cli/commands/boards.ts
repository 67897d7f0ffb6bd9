import { loadBoards } from '../../boards/load_boards.ts';
import { formatInt, printJson, table } from '../format.ts';

export function boardsCommand(opts: { json?: boolean }): void {
  const boards = loadBoards();
  if (opts.json) {
    printJson(boards);
    return;
  }
  console.log(
    table(
      ['board', 'core', 'features', 'MHz', 'flash KiB', 'RAM KiB', 'flashing', 'name'],
      boards.map((b) => [
        b.id,
        b.core,
        b.features.join(',') || '-',
        b.clockHz / 1e6,
        b.memory.flash.size / 1024,
        b.memory.ram.size / 1024,
        b.flashing.method,
        b.name,
      ]),
    ),
  );
  console.log(`\n${formatInt(boards.length)} boards (files in boards/)`);
}
