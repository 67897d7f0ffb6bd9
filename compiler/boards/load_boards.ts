// Loads and validates the board files in boards/.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TinyforgeError } from '../errors.ts';
import { packagePath } from '../package_root.ts';
import { oneOf } from '../suggest.ts';
import { boardSchema, type Board } from './board_schema.ts';

export const BOARDS_DIR = packagePath('boards/');

export function parseBoardFile(file: string, text: string): Board {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TinyforgeError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = boardSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TinyforgeError(`${file}: field '${issue?.path.join('.') || '(root)'}': ${issue?.message ?? 'invalid'}`);
  }
  const expectedName = `${parsed.data.id}.json`;
  if (path.basename(file) !== expectedName) throw new TinyforgeError(`${file}: board id '${parsed.data.id}' must match the file name (${expectedName})`);
  return parsed.data;
}

export function loadBoards(dir: string = BOARDS_DIR): Board[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseBoardFile(path.join(dir, f), readFileSync(path.join(dir, f), 'utf8')));
}

export function findBoard(id: string, dir: string = BOARDS_DIR): Board {
  const boards = loadBoards(dir);
  const board = boards.find((b) => b.id === id);
  if (!board) oneOf('board', id, boards.map((b) => b.id));
  return board as Board;
}
