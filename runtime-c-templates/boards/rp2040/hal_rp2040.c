/* tinyforge board support: tf_hal.h for the RP2040 on a Raspberry Pi Pico, on top of the pico-sdk.
 *
 * The pico-sdk provides the boot stage 2 (flash set-up), the startup code (crt0), the linker
 * script and the clock set-up: clk_sys = clk_peri = 125 MHz from the PLL before main() runs. The
 * agent's main() is the program's main().
 *
 * UART (default): UART0 on GP0 (TX, pin 1) and GP1 (RX, pin 2) through the SDK's hardware_uart,
 * 8 data bits, no parity, 1 stop bit, TF_HAL_BAUD (tf_board_config.h), with the SDK's 32-byte
 * FIFOs. The host needs a 3.3 V USB-serial adapter on those pins (or a Raspberry Pi Debug
 * Probe's UART port). The SDK's stdio is not enabled on the UART, so nothing else writes to it.
 * USB (TF_PICO_USB_CDC = 1, CMake option TF_PICO_USB_CDC): the agent speaks over the Pico's own
 * USB port instead, as the pico-sdk's USB CDC stdio device (VID:PID 2e8a:000a), with CR/LF
 * translation bypassed (putchar_raw); tf_hal_init waits until the host opens the port.
 *
 * Counter: the Cortex-M0+ has no DWT cycle counter, so SysTick runs from the processor clock,
 * counting down from 0xFFFFFF; its interrupt counts the wraps (every 2^24 cycles, 134 ms), and
 * tf_hal_cycles() = wraps * 2^24 + cycles into the current period: 32 bits of core cycles,
 * wrapping every 34 s at 125 MHz. One tick is one cycle.
 * Stack: __StackBottom .. __StackTop of the SDK's default linker script, i.e. the core-0 stack
 * reserved in SCRATCH_Y (PICO_STACK_SIZE, 2 KiB unless the project sets it). */
#include <stdint.h>

#include "hardware/gpio.h"
#include "hardware/uart.h"
#include "pico/stdlib.h"

#include "tf_board_config.h"
#include "tf_hal.h"

#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
#ifndef TF_HAL_COUNTER_NAME
#define TF_HAL_COUNTER_NAME "systick"
#endif
#ifndef TF_PICO_USB_CDC
#define TF_PICO_USB_CDC 0
#endif
#ifndef TF_PICO_UART_TX_PIN
#define TF_PICO_UART_TX_PIN 0u
#endif
#ifndef TF_PICO_UART_RX_PIN
#define TF_PICO_UART_RX_PIN 1u
#endif

#if TF_PICO_USB_CDC
#include "pico/stdio_usb.h"
#endif

#define TF_REG(addr) (*(volatile uint32_t *)(addr))
#define TF_SYST_CSR TF_REG(0xE000E010u)
#define TF_SYST_RVR TF_REG(0xE000E014u)
#define TF_SYST_CVR TF_REG(0xE000E018u)
#define TF_SYST_CSR_ENABLE (1u << 0)
#define TF_SYST_CSR_TICKINT (1u << 1)
#define TF_SYST_CSR_CLKSOURCE (1u << 2) /* processor clock */
#define TF_SCB_ICSR TF_REG(0xE000ED04u)
#define TF_SCB_ICSR_PENDSTSET (1u << 26)
#define TF_SYSTICK_MAX 0xFFFFFFu

extern uint8_t __StackBottom[];
extern uint8_t __StackTop[];

static volatile uint32_t tf_systick_wraps;

/* Overrides the SDK's weak SysTick handler (crt0's isr_systick). */
void isr_systick(void);
void isr_systick(void) { tf_systick_wraps++; }

void tf_hal_init(void) {
#if TF_PICO_USB_CDC
  stdio_usb_init();
  while (!stdio_usb_connected()) {
    sleep_ms(10);
  }
#else
  uart_init(uart0, TF_HAL_BAUD);
  gpio_set_function(TF_PICO_UART_TX_PIN, GPIO_FUNC_UART);
  gpio_set_function(TF_PICO_UART_RX_PIN, GPIO_FUNC_UART);
  uart_set_format(uart0, 8, 1, UART_PARITY_NONE);
  uart_set_fifo_enabled(uart0, true);
#endif
  TF_SYST_CSR = 0u;
  TF_SYST_RVR = TF_SYSTICK_MAX;
  TF_SYST_CVR = 0u;
  tf_systick_wraps = 0u;
  TF_SYST_CSR = TF_SYST_CSR_ENABLE | TF_SYST_CSR_TICKINT | TF_SYST_CSR_CLKSOURCE;
}

uint8_t tf_hal_uart_getc(void) {
#if TF_PICO_USB_CDC
  int c;
  do {
    c = getchar_timeout_us(1000000u);
  } while (c < 0);
  return (uint8_t)c;
#else
  return (uint8_t)uart_getc(uart0);
#endif
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
#if TF_PICO_USB_CDC
  uint32_t i;
  for (i = 0; i < n; ++i) {
    putchar_raw(data[i]);
  }
  stdio_flush();
#else
  uart_write_blocking(uart0, data, n);
#endif
}

uint32_t tf_hal_cycles(void) {
  uint32_t wraps;
  uint32_t value;
  uint32_t pending;
  uint32_t elapsed;
  do {
    wraps = tf_systick_wraps;
    value = TF_SYST_CVR;
    pending = TF_SCB_ICSR & TF_SCB_ICSR_PENDSTSET;
  } while (wraps != tf_systick_wraps);
  elapsed = TF_SYSTICK_MAX - value;
  /* The counter wrapped but its interrupt has not run yet (interrupts masked, or taken between
   * the reads): a small elapsed value belongs to the next period. */
  if (pending != 0u && elapsed < (TF_SYSTICK_MAX / 2u)) {
    wraps++;
  }
  return (wraps << 24) + elapsed;
}

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return TF_HAL_COUNTER_NAME; }

uint8_t *tf_hal_stack_lowest(void) { return __StackBottom; }

uint8_t *tf_hal_stack_top(void) { return __StackTop; }
