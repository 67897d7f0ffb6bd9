/* tinyforge board support: tf_hal.h for the nRF52840 on an nRF52840 DK (PCA10056), bare metal.
 *
 * UART: UARTE0 (the UART with EasyDMA) on P0.06 (TX) and P0.08 (RX), the pins the DK wires to
 * the interface MCU's virtual COM port (the J-Link's CDC port on the same USB cable as the
 * debugger). 8 data bits, no parity, 1 stop bit, TF_HAL_BAUD (tf_board_config.h). Hardware flow
 * control is off unless TF_NRF_UART_HWFC is 1 (RTS P0.05, CTS P0.07 on the DK).
 *   Transmit: one EasyDMA transfer per tf_hal_uart_write (EasyDMA reads only from RAM, so data
 *   elsewhere goes through a small RAM buffer), waiting for ENDTX.
 *   Receive: a one-byte EasyDMA buffer that is re-armed as soon as its byte has been taken, so
 *   the receiver runs all the time; bytes that arrive while the agent computes wait in the
 *   UARTE's receive FIFO, and what overflows it is lost (the host retransmits).
 *
 * Clock: tf_hal_init starts the 64 MHz crystal oscillator (HFXO) and waits for it, because the
 * UART's baud rate is derived from HFCLK and the internal RC oscillator is less accurate. The core
 * runs at 64 MHz either way. The errata workarounds of Nordic's SystemInit are not applied; none
 * of them concerns UARTE0, GPIO or the DWT as used here.
 *
 * Counter: DWT CYCCNT, one core cycle per tick.
 * Stack: __StackLimit .. __StackTop of the generated linker script. */
#include <stdint.h>

#include "tf_board_config.h"
#include "tf_dwt.h"
#include "tf_hal.h"

#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
#ifndef TF_HAL_COUNTER_NAME
#define TF_HAL_COUNTER_NAME "dwt-cyccnt"
#endif
#ifndef TF_NRF_UART_TX_PIN
#define TF_NRF_UART_TX_PIN 6u
#endif
#ifndef TF_NRF_UART_RX_PIN
#define TF_NRF_UART_RX_PIN 8u
#endif
#ifndef TF_NRF_UART_HWFC
#define TF_NRF_UART_HWFC 0
#endif
#ifndef TF_NRF_UART_RTS_PIN
#define TF_NRF_UART_RTS_PIN 5u
#endif
#ifndef TF_NRF_UART_CTS_PIN
#define TF_NRF_UART_CTS_PIN 7u
#endif

/* BAUDRATE register: baud * 2^32 / 16 MHz, rounded to the register's 4096 granularity
 * (115200 -> 0x01D7E000, 1000000 -> 0x10000000). */
#define TF_NRF_BAUDRATE(b) ((uint32_t)(((((uint64_t)(b)) << 32) / 16000000u + 0x800u) & 0xFFFFF000u))

#define TF_REG(addr) (*(volatile uint32_t *)(addr))

#define TF_CLOCK_BASE 0x40000000u
#define TF_CLOCK_TASKS_HFCLKSTART TF_REG(TF_CLOCK_BASE + 0x000u)
#define TF_CLOCK_EVENTS_HFCLKSTARTED TF_REG(TF_CLOCK_BASE + 0x100u)

#define TF_P0_BASE 0x50000000u
#define TF_P0_OUTSET TF_REG(TF_P0_BASE + 0x508u)
#define TF_P0_DIRSET TF_REG(TF_P0_BASE + 0x518u)

#define TF_UARTE0_BASE 0x40002000u
#define TF_UARTE_TASKS_STARTRX TF_REG(TF_UARTE0_BASE + 0x000u)
#define TF_UARTE_TASKS_STARTTX TF_REG(TF_UARTE0_BASE + 0x008u)
#define TF_UARTE_EVENTS_ENDRX TF_REG(TF_UARTE0_BASE + 0x110u)
#define TF_UARTE_EVENTS_ENDTX TF_REG(TF_UARTE0_BASE + 0x120u)
#define TF_UARTE_EVENTS_ERROR TF_REG(TF_UARTE0_BASE + 0x124u)
#define TF_UARTE_ERRORSRC TF_REG(TF_UARTE0_BASE + 0x480u)
#define TF_UARTE_ENABLE TF_REG(TF_UARTE0_BASE + 0x500u)
#define TF_UARTE_PSEL_RTS TF_REG(TF_UARTE0_BASE + 0x508u)
#define TF_UARTE_PSEL_TXD TF_REG(TF_UARTE0_BASE + 0x50Cu)
#define TF_UARTE_PSEL_CTS TF_REG(TF_UARTE0_BASE + 0x510u)
#define TF_UARTE_PSEL_RXD TF_REG(TF_UARTE0_BASE + 0x514u)
#define TF_UARTE_BAUDRATE TF_REG(TF_UARTE0_BASE + 0x524u)
#define TF_UARTE_RXD_PTR TF_REG(TF_UARTE0_BASE + 0x534u)
#define TF_UARTE_RXD_MAXCNT TF_REG(TF_UARTE0_BASE + 0x538u)
#define TF_UARTE_TXD_PTR TF_REG(TF_UARTE0_BASE + 0x544u)
#define TF_UARTE_TXD_MAXCNT TF_REG(TF_UARTE0_BASE + 0x548u)
#define TF_UARTE_CONFIG TF_REG(TF_UARTE0_BASE + 0x56Cu)
#define TF_UARTE_ENABLE_ON 8u
#define TF_UARTE_CONFIG_HWFC 1u

/* Data RAM, the only memory EasyDMA can read or write. */
#define TF_NRF_RAM_START 0x20000000u
#define TF_NRF_RAM_END 0x20040000u
#define TF_TX_CHUNK 64u

extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);

static volatile uint8_t tf_rx_byte;
static uint8_t tf_tx_bounce[TF_TX_CHUNK];

static void tf_uart_setup(void) {
  TF_CLOCK_EVENTS_HFCLKSTARTED = 0u;
  TF_CLOCK_TASKS_HFCLKSTART = 1u;
  while (TF_CLOCK_EVENTS_HFCLKSTARTED == 0u) {
  }

  /* TX idles high while the UARTE is disabled. */
  TF_P0_OUTSET = 1u << TF_NRF_UART_TX_PIN;
  TF_P0_DIRSET = 1u << TF_NRF_UART_TX_PIN;
  TF_UARTE_PSEL_TXD = TF_NRF_UART_TX_PIN;
  TF_UARTE_PSEL_RXD = TF_NRF_UART_RX_PIN;
#if TF_NRF_UART_HWFC
  TF_P0_OUTSET = 1u << TF_NRF_UART_RTS_PIN;
  TF_P0_DIRSET = 1u << TF_NRF_UART_RTS_PIN;
  TF_UARTE_PSEL_RTS = TF_NRF_UART_RTS_PIN;
  TF_UARTE_PSEL_CTS = TF_NRF_UART_CTS_PIN;
  TF_UARTE_CONFIG = TF_UARTE_CONFIG_HWFC;
#else
  TF_UARTE_PSEL_RTS = 0xFFFFFFFFu; /* disconnected */
  TF_UARTE_PSEL_CTS = 0xFFFFFFFFu;
  TF_UARTE_CONFIG = 0u;
#endif
  TF_UARTE_BAUDRATE = TF_NRF_BAUDRATE(TF_HAL_BAUD);
  TF_UARTE_ENABLE = TF_UARTE_ENABLE_ON;

  TF_UARTE_EVENTS_ENDRX = 0u;
  TF_UARTE_EVENTS_ERROR = 0u;
  TF_UARTE_RXD_PTR = (uint32_t)(uintptr_t)&tf_rx_byte;
  TF_UARTE_RXD_MAXCNT = 1u;
  TF_UARTE_TASKS_STARTRX = 1u;
}

/* One EasyDMA transmission of n bytes at p (in RAM), waiting until the last byte has left. */
static void tf_uarte_send(const uint8_t *p, uint32_t n) {
  TF_UARTE_EVENTS_ENDTX = 0u;
  TF_UARTE_TXD_PTR = (uint32_t)(uintptr_t)p;
  TF_UARTE_TXD_MAXCNT = n;
  TF_UARTE_TASKS_STARTTX = 1u;
  while (TF_UARTE_EVENTS_ENDTX == 0u) {
  }
  TF_UARTE_EVENTS_ENDTX = 0u;
}

/* Whether CYCCNT runs (tf_dwt_start): HELLO names the counter "none" when it does not. */
static int tf_counter_running;

void tf_hal_init(void) {
  tf_uart_setup();
  tf_counter_running = tf_dwt_start();
}

uint8_t tf_hal_uart_getc(void) {
  uint8_t b;
  while (TF_UARTE_EVENTS_ENDRX == 0u) {
    if (TF_UARTE_EVENTS_ERROR != 0u) {
      /* Framing or overrun error: clear it (ERRORSRC is write-one-to-clear) and keep receiving. */
      TF_UARTE_ERRORSRC = TF_UARTE_ERRORSRC;
      TF_UARTE_EVENTS_ERROR = 0u;
    }
  }
  TF_UARTE_EVENTS_ENDRX = 0u;
  b = tf_rx_byte;
  TF_UARTE_TASKS_STARTRX = 1u; /* same buffer, same count */
  return b;
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
  uintptr_t a = (uintptr_t)data;
  if (n == 0u) {
    return;
  }
  if (a >= TF_NRF_RAM_START && a + n <= TF_NRF_RAM_END && n <= 0xFFFFu) {
    tf_uarte_send(data, n);
    return;
  }
  while (n > 0u) {
    uint32_t k = n < TF_TX_CHUNK ? n : TF_TX_CHUNK;
    uint32_t i;
    for (i = 0; i < k; ++i) {
      tf_tx_bounce[i] = data[i];
    }
    tf_uarte_send(tf_tx_bounce, k);
    data += k;
    n -= k;
  }
}

uint32_t tf_hal_cycles(void) { return tf_dwt_cycles(); }

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return tf_counter_running ? TF_HAL_COUNTER_NAME : "none"; }

uint8_t *tf_hal_stack_lowest(void) { return __StackLimit; }

uint8_t *tf_hal_stack_top(void) { return __StackTop; }

void tf_hal_panic_write(const uint8_t *data, uint32_t n) {
  if (TF_UARTE_ENABLE != TF_UARTE_ENABLE_ON) {
    tf_uart_setup();
  }
  tf_hal_uart_write(data, n);
}

void tf_hal_panic_flush(void) {
  /* tf_hal_uart_write returns after ENDTX: the bytes are already out. */
}
