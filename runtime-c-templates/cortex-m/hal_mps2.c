/* tf_hal.h for QEMU's mps2-an385 (Cortex-M3), mps2-an386 (Cortex-M4) and mps2-an500 (Cortex-M7):
 * UART over CMSDK APB UART0, cycle counter from CMSDK APB timer0. No semihosting.
 *
 * Cycle counter: timer0 counts down at the 25 MHz peripheral clock, which on these boards is
 * the core clock, from a 0xFFFFFFFF reload; tf_hal_cycles() returns 0xFFFFFFFF - VALUE, a
 * 32-bit up-counter that wraps every 2^32 ticks (172 s at 25 MHz). One tick is one cycle of the
 * board's 25 MHz clock, hence tf_hal_cycles_per_tick() == 1.
 *
 * What a tick means under QEMU: QEMU does not model cycles. With `-icount shift=0` every guest
 * instruction advances virtual time by 1 ns and the timer runs off virtual time, so one tick of
 * the 25 MHz timer = 40 ns = 40 instructions, deterministically; a delta around a piece of code
 * counts its instructions / 40 (to within one tick). Without -icount the timer follows host
 * time and the numbers mean nothing. */
#include <stdint.h>

#include "tf_hal.h"

#define TF_MPS2_CLOCK_HZ 25000000u
#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif

/* CMSDK APB UART0. */
#define TF_UART_BASE 0x40004000u
#define TF_UART_DATA (*(volatile uint32_t *)(TF_UART_BASE + 0x00u))
#define TF_UART_STATE (*(volatile uint32_t *)(TF_UART_BASE + 0x04u))
#define TF_UART_CTRL (*(volatile uint32_t *)(TF_UART_BASE + 0x08u))
#define TF_UART_BAUDDIV (*(volatile uint32_t *)(TF_UART_BASE + 0x10u))
#define TF_UART_STATE_TX_FULL 0x1u
#define TF_UART_STATE_RX_FULL 0x2u
#define TF_UART_CTRL_TX_EN 0x1u
#define TF_UART_CTRL_RX_EN 0x2u

/* CMSDK APB timer0. */
#define TF_TIMER_BASE 0x40000000u
#define TF_TIMER_CTRL (*(volatile uint32_t *)(TF_TIMER_BASE + 0x00u))
#define TF_TIMER_VALUE (*(volatile uint32_t *)(TF_TIMER_BASE + 0x04u))
#define TF_TIMER_RELOAD (*(volatile uint32_t *)(TF_TIMER_BASE + 0x08u))
#define TF_TIMER_CTRL_EN 0x1u

extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

/* Board hooks for the fault handler in startup_agent_cortex_m.c. */
void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);

static void tf_uart_enable(void) {
  /* BAUDDIV must be >= 16; QEMU drops bytes written before TX is enabled. */
  TF_UART_BAUDDIV = TF_MPS2_CLOCK_HZ / TF_HAL_BAUD;
  TF_UART_CTRL = TF_UART_CTRL_TX_EN | TF_UART_CTRL_RX_EN;
}

void tf_hal_init(void) {
  tf_uart_enable();
  TF_TIMER_CTRL = 0u;
  TF_TIMER_RELOAD = 0xFFFFFFFFu;
  TF_TIMER_VALUE = 0xFFFFFFFFu;
  TF_TIMER_CTRL = TF_TIMER_CTRL_EN;
}

uint8_t tf_hal_uart_getc(void) {
  while ((TF_UART_STATE & TF_UART_STATE_RX_FULL) == 0u) {
  }
  return (uint8_t)TF_UART_DATA;
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; ++i) {
    while ((TF_UART_STATE & TF_UART_STATE_TX_FULL) != 0u) {
    }
    TF_UART_DATA = data[i];
  }
}

uint32_t tf_hal_cycles(void) { return 0xFFFFFFFFu - TF_TIMER_VALUE; }

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return "apb-timer"; }

uint8_t *tf_hal_stack_lowest(void) { return __StackLimit; }

uint8_t *tf_hal_stack_top(void) { return __StackTop; }

void tf_hal_panic_write(const uint8_t *data, uint32_t n) {
  if ((TF_UART_CTRL & TF_UART_CTRL_TX_EN) == 0u) {
    tf_uart_enable();
  }
  tf_hal_uart_write(data, n);
}

void tf_hal_panic_flush(void) {
  while ((TF_UART_STATE & TF_UART_STATE_TX_FULL) != 0u) {
  }
}
