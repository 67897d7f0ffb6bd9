// What tinyforge knows about each real board beyond its board file: which board support family
// (HAL and startup in runtime-c-templates/boards/) runs the agent on it, and the facts a user
// needs to wire and trust it (serial line and pins, clock, cycle counter, stack). The generated
// README.md of each project and docs/boards.md say the same.

import type { Board } from '../boards/board_schema.ts';
import { TinyforgeError } from '../errors.ts';

export type SupportKind = 'cortex-m-cmake' | 'pico-sdk' | 'esp-idf' | 'arduino';

export interface BoardSupport {
  kind: SupportKind;
  /** Directory of runtime-c-templates/boards/ holding the HAL. */
  family: 'stm32f4' | 'stm32h7' | 'nrf52840' | 'rp2040' | 'esp-idf' | 'arduino';
  /** The serial line the agent speaks on, with its pins. */
  serial: string;
  /** The clock the firmware runs on and what it means for the UART and the cycle counts. */
  clock: string;
  /** The cycle counter behind tf_hal_cycles(). */
  counter: string;
  /** What the agent's stack figures (STATS) cover. */
  stack: string;
  /** Device interrupt entries in the vector table (cortex-m-cmake only). */
  numIrqs?: number;
  /** Further points worth knowing before flashing. */
  notes: string[];
}

const STM32_RESET_NOTE =
  "After flashing through the system bootloader, set BOOT0 low and press RESET before validating: the bootloader's GO command starts the firmware with whatever clock and peripheral state the bootloader left, and the UART set-up assumes the reset clock.";

const SUPPORT: Readonly<Record<string, BoardSupport>> = {
  'nucleo-f446re': {
    kind: 'cortex-m-cmake',
    family: 'stm32f4',
    serial: "USART2 on PA2 (TX) / PA3 (RX), wired to the ST-LINK's virtual COM port: the USB cable that powers the board carries the protocol",
    clock:
      'the reset clock, the 16 MHz HSI (the PLL is not started; the board file states this clock as clockHz, and the part\'s 180 MHz maximum as maxClockHz). BRR = round(16 MHz / baud); define TF_STM32_PCLK1_HZ if you raise the clock. Cycle counts are taken with 0 flash wait states, a lower bound for 180 MHz (5 wait states)',
    counter: 'DWT CYCCNT (TRCENA + CYCCNTENA), one core cycle per tick',
    stack: 'the top TF_STACK_SIZE bytes of RAM (16 KiB by default, CMake cache variable), __StackLimit .. __StackTop of the generated linker script',
    numIrqs: 97,
    notes: [
      "The board file flashes through the STM32 system bootloader (stm32-uart): BOOT0 high at reset and a 3.3 V USB-serial adapter on a bootloader USART, which on the F446 is USART1 (PA9 = D8, PA10 = D2) or USART3 (PB10/PB11, PC10/PC11), not the ST-LINK's PA2/PA3 (ST AN2606). Without an adapter, copy build/tinyforge_agent.bin to the ST-LINK's NODE_F446RE drive, or use st-flash / probe-rs with the ELF.",
      STM32_RESET_NOTE,
    ],
  },
  'nucleo-h743zi': {
    kind: 'cortex-m-cmake',
    family: 'stm32h7',
    serial: "USART3 on PD8 (TX) / PD9 (RX), wired to the ST-LINK's virtual COM port: the USB cable that powers the board carries the protocol",
    clock:
      "the reset configuration: 64 MHz HSI, LDO supply, reset voltage scaling and flash latency, caches off (the board file states this clock as clockHz, and the part's 480 MHz maximum as maxClockHz). USART3's kernel clock is PCLK1 = 64 MHz, BRR = round(64 MHz / baud); define TF_STM32_PCLK1_HZ if you change it",
    counter: 'DWT CYCCNT (TRCENA, DWT_LAR unlocked as the Cortex-M7 requires, CYCCNTENA), one core cycle per tick',
    stack: 'the top TF_STACK_SIZE bytes of the AXI SRAM (16 KiB by default, CMake cache variable), __StackLimit .. __StackTop of the generated linker script',
    numIrqs: 150,
    notes: [
      'The board file flashes through the STM32 system bootloader (stm32-uart): BOOT0 high at reset and a USB-serial adapter on a USART that ST AN2606 lists for the STM32H743 (USART1 on PA9/PA10 is one). Without one, copy build/tinyforge_agent.bin to the ST-LINK drive, or use STM32CubeProgrammer / probe-rs with the ELF.',
      STM32_RESET_NOTE,
    ],
  },
  'nrf52840-dk': {
    kind: 'cortex-m-cmake',
    family: 'nrf52840',
    serial:
      "UARTE0 on P0.06 (TX) / P0.08 (RX), wired to the interface MCU's virtual COM port (the J-Link CDC port on the debug USB connector); no flow control unless TF_NRF_UART_HWFC=1 (RTS P0.05, CTS P0.07)",
    clock: 'HFCLK from the 64 MHz crystal (HFXO), started by tf_hal_init so the baud rate is accurate; the core runs at 64 MHz',
    counter: 'DWT CYCCNT (TRCENA + CYCCNTENA), one core cycle per tick',
    stack: 'the top TF_STACK_SIZE bytes of RAM (16 KiB by default, CMake cache variable), __StackLimit .. __StackTop of the generated linker script',
    numIrqs: 48,
    notes: [
      'Flashing (board file): probe-rs writes the ELF through the on-board J-Link.',
      "If bytes from the host get lost, SEGGER's advice for the J-Link OB's virtual COM port is to disable its mass-storage device (J-Link Commander: MSDDisable).",
      "Nordic's SystemInit errata workarounds are not applied, and UICR is not programmed (the RESET button then does not reset; reset through the debugger or by power-cycling).",
    ],
  },
  'rpi-pico': {
    kind: 'pico-sdk',
    family: 'rp2040',
    serial:
      'UART0 on GP0 (TX, pin 1) / GP1 (RX, pin 2) through the pico-sdk\'s hardware_uart: the host needs a 3.3 V USB-serial adapter or a Raspberry Pi Debug Probe on those pins. Configure with -DTF_PICO_USB_CDC=ON to use the Pico\'s own USB port instead (pico-sdk USB CDC, 2e8a:000a)',
    clock: "the pico-sdk's: clk_sys = clk_peri = 125 MHz from the PLL, set up before main()",
    counter: 'SysTick from the processor clock (the Cortex-M0+ has no DWT cycle counter), 24 bits extended to 32 by counting wraps in its interrupt; one core cycle per tick',
    stack: "the core-0 stack the pico-sdk reserves in SCRATCH_Y (__StackBottom .. __StackTop, PICO_STACK_SIZE = 2 KiB by default)",
    notes: [
      'Why the pico-sdk and not a bare-metal project: the RP2040 boots from external QSPI flash through a 256-byte second stage (boot2) that must match the flash chip and carry a CRC; the pico-sdk builds it, and also provides the startup code, linker script and clock set-up.',
      'Flashing (board file): UF2. Hold BOOTSEL while plugging the Pico in; it shows up as the RPI-RP2 drive.',
    ],
  },
  'arduino-nano-33-ble': {
    kind: 'arduino',
    family: 'arduino',
    serial: "the native USB port as a CDC serial device (the core's Serial, 2341:805a); the baud rate is nominal. Define TF_ARDUINO_SERIAL=Serial1 for the UART on D1 (TX) / D0 (RX)",
    clock: "the Arduino core's (Mbed OS): 64 MHz",
    counter: 'DWT CYCCNT (TRCENA + CYCCNTENA), one core cycle per tick; Mbed OS interrupts that fire during an inference are counted too',
    stack: 'not reported (the sketch runs on an Mbed OS thread whose stack the library does not see): STATS shows 0',
    notes: [
      'The Arduino bootloader occupies flash below 0x10000; the application starts there (boards/arduino-nano-33-ble.json, flash base 0x10000).',
      'Uploading (board file): bossac over the USB port. Double-tap the reset button to enter the bootloader if the upload does not start by itself.',
    ],
  },
};

const ESP_CHIPS: Readonly<Record<string, { uart: string; target: string }>> = {
  esp32: { uart: 'UART0 on GPIO1 (TX) / GPIO3 (RX)', target: 'esp32' },
  esp32s3: { uart: 'UART0 on GPIO43 (TX) / GPIO44 (RX)', target: 'esp32s3' },
  esp32c3: { uart: 'UART0 on GPIO21 (TX) / GPIO20 (RX)', target: 'esp32c3' },
};

/** The ESP-IDF target name (idf.py set-target) of an esp-idf board. */
export function espIdfTarget(board: Board): string {
  if (board.flashing.method !== 'esp-rom') {
    throw new TinyforgeError(`board ${board.id}: an esp-idf project needs an esp-rom flashing entry naming the chip`);
  }
  const chip = ESP_CHIPS[board.flashing.chip];
  if (chip === undefined) throw new TinyforgeError(`board ${board.id}: no ESP-IDF support for chip ${board.flashing.chip}`);
  return chip.target;
}

function espSupport(board: Board): BoardSupport {
  const target = espIdfTarget(board);
  const chip = ESP_CHIPS[target] as { uart: string };
  const xtensa = board.core.startsWith('xtensa');
  return {
    kind: 'esp-idf',
    family: 'esp-idf',
    serial: `${chip.uart}, the pins the DevKit wires to its USB-serial bridge (the port the ROM loader is flashed through); the ESP-IDF console is off so the agent owns the port`,
    clock: `the CPU at ${board.clockHz / 1e6} MHz (CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_${board.clockHz / 1e6} in sdkconfig.defaults)`,
    counter: xtensa
      ? 'esp_cpu_get_cycle_count(): the Xtensa CCOUNT register of the core the agent task is pinned to, one CPU cycle per tick'
      : "esp_cpu_get_cycle_count(): the RISC-V core's machine performance counter (cycle mode), one CPU cycle per tick",
    stack: 'the agent task\'s static stack (TF_ESP_AGENT_STACK_BYTES, 16 KiB by default)',
    notes: [
      'The task watchdog is not started (CONFIG_ESP_TASK_WDT_INIT off): an inference longer than its 5 s timeout would otherwise starve the idle task it watches.',
      'The ROM bootloader still prints its banner on UART0 at reset; the host discards it (every frame starts with a 0x00 delimiter).',
    ],
  };
}

/** Board support of a board, or a TinyforgeError naming the boards that have one. */
export function boardSupport(board: Board): BoardSupport {
  if (board.project === 'bare-metal') {
    throw new TinyforgeError(
      `board ${board.id} runs under QEMU: tinyforge builds its firmware itself (the QEMU build path), so there is no project to generate`,
    );
  }
  if (board.project === 'esp-idf') return espSupport(board);
  const s = SUPPORT[board.id];
  if (s === undefined || (board.project === 'arduino') !== (s.kind === 'arduino')) {
    const known = Object.keys(SUPPORT)
      .filter((id) => (board.project === 'arduino') === (SUPPORT[id]?.kind === 'arduino'))
      .join(', ');
    throw new TinyforgeError(`board ${board.id}: tinyforge has no ${board.project} board support for it (supported: ${known})`);
  }
  return s;
}
