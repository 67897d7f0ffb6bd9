// What ESP-IDF itself takes of an ESP32-family chip, per chip: the part of the fit that tinyforge
// estimates rather than measures (ESP-IDF is not run at compile time).

import { TinyforgeError } from '../errors.ts';
import type { Board } from './board_schema.ts';

export type EspChip = 'esp32' | 'esp32s3' | 'esp32c3';

/**
 * What ESP-IDF v5 and the agent add to the model, per chip: estimates for an app with FreeRTOS, the
 * UART driver, newlib, the agent and the kernels, no Wi-Fi or Bluetooth (ESP-IDF's hello_world is
 * about 170 KiB on the ESP32). `staticRamBytes`: ESP-IDF's .data/.bss plus the agent's 16 KiB
 * static task stack and frame buffers. `iramBytes`: static IRAM code, which shares the internal
 * D/IRAM with static data on chips after the ESP32.
 */
export const ESP_IDF_BASE: Readonly<Record<EspChip, { appImageBytes: number; staticRamBytes: number; iramBytes: number }>> = {
  esp32: { appImageBytes: 224 * 1024, staticRamBytes: 40 * 1024, iramBytes: 0 },
  esp32s3: { appImageBytes: 240 * 1024, staticRamBytes: 40 * 1024, iramBytes: 64 * 1024 },
  esp32c3: { appImageBytes: 208 * 1024, staticRamBytes: 36 * 1024, iramBytes: 64 * 1024 },
};

export function espChip(board: Board): EspChip {
  if (board.flashing.method !== 'esp-rom') throw new TinyforgeError(`board ${board.id}: not an esp-rom board`);
  return board.flashing.chip;
}

/** Internal RAM left for the model's arena, state and I/O once ESP-IDF's estimated share is taken. */
export function espStaticBudget(board: Board): number {
  const base = ESP_IDF_BASE[espChip(board)];
  const limit = (board.espIdf?.staticDramBytes ?? board.memory.ram.size) - base.iramBytes;
  return Math.max(0, limit - base.staticRamBytes);
}

