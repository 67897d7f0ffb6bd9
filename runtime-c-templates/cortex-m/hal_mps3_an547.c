/* tf_hal.h for QEMU's mps3-an547 (Cortex-M55, boots in Secure state from ITCM at 0x10000000):
 * UART over CMSDK APB UART0 (Secure alias 0x59303000), cycle counter from SysTick. No
 * semihosting. Link with startup_agent_cortex_m.c and mps3_an547.ld.
 *
 * Cycle counter: SysTick counts the 32 MHz processor clock (CLKSOURCE = 1) down from
 * TF_HAL_SYSTICK_RELOAD. It is only 24 bits wide, so the SysTick exception (the only interrupt
 * this firmware enables) counts periods and tf_hal_cycles() returns periods * (reload + 1) +
 * position in the period: a 32-bit up-counter of core clock ticks that wraps every 2^32 ticks
 * (134 s at 32 MHz) as long as reload + 1 is a power of two (the default, 2^24, is). One tick is
 * one cycle of the 32 MHz clock, hence tf_hal_cycles_per_tick() == 1. Interrupts must not stay
 * masked (PRIMASK) for longer than one SysTick period (2^24 ticks) or a period is lost.
 *
 * What a tick means under QEMU: QEMU does not model cycles. With `-icount shift=0` every guest
 * instruction advances virtual time by 1 ns and SysTick runs off virtual time, so one tick =
 * 31.25 ns = 31.25 instructions (32 ticks per 1000 instructions), deterministically; a delta
 * counts instructions / 31.25 to within one tick. Without -icount the numbers mean nothing. */
#include <stdint.h>

#include "tf_hal.h"

#define TF_AN547_CLOCK_HZ 32000000u
#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
/* Overridable for tests (small periods exercise the wrap handling); reload + 1 should be a
 * power of two so that the 32-bit result wraps cleanly. */
#ifndef TF_HAL_SYSTICK_RELOAD
#define TF_HAL_SYSTICK_RELOAD 0x00FFFFFFu
#endif

/* CMSDK APB UART0 (Secure alias). */
#define TF_UART_BASE 0x59303000u
#define TF_UART_DATA (*(volatile uint32_t *)(TF_UART_BASE + 0x00u))
#define TF_UART_STATE (*(volatile uint32_t *)(TF_UART_BASE + 0x04u))
#define TF_UART_CTRL (*(volatile uint32_t *)(TF_UART_BASE + 0x08u))
#define TF_UART_BAUDDIV (*(volatile uint32_t *)(TF_UART_BASE + 0x10u))
#define TF_UART_STATE_TX_FULL 0x1u
#define TF_UART_STATE_RX_FULL 0x2u
#define TF_UART_CTRL_TX_EN 0x1u
#define TF_UART_CTRL_RX_EN 0x2u

/* SysTick and the interrupt control state register. */
#define TF_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define TF_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define TF_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TF_SYST_CSR_ENABLE 0x1u
#define TF_SYST_CSR_TICKINT 0x2u
#define TF_SYST_CSR_CLKSOURCE 0x4u
#define TF_SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define TF_SCB_ICSR_PENDSTSET (1u << 26)
#define TF_SCB_ICSR_PENDSTCLR (1u << 25)

extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

/* Board hooks for the fault handler in startup_agent_cortex_m.c. */
void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);
void SysTick_Handler(void);

/* SysTick periods completed (the exception fires when the counter reaches 0). */
static volatile uint32_t tf_systick_periods;

static void tf_uart_enable(void) {
  /* BAUDDIV must be >= 16; QEMU drops bytes written before TX is enabled. */
  TF_UART_BAUDDIV = TF_AN547_CLOCK_HZ / TF_HAL_BAUD;
  TF_UART_CTRL = TF_UART_CTRL_TX_EN | TF_UART_CTRL_RX_EN;
}

void SysTick_Handler(void) { tf_systick_periods = tf_systick_periods + 1u; }

void tf_hal_init(void) {
  tf_uart_enable();
  TF_SYST_CSR = 0u;
  TF_SYST_RVR = TF_HAL_SYSTICK_RELOAD;
  TF_SYST_CVR = 0u; /* any write clears it; the first tick after enabling loads the reload */
  TF_SCB_ICSR = TF_SCB_ICSR_PENDSTCLR;
  tf_systick_periods = 0u;
  TF_SYST_CSR = TF_SYST_CSR_ENABLE | TF_SYST_CSR_TICKINT | TF_SYST_CSR_CLKSOURCE;
  __asm__ volatile("cpsie i" ::: "memory");
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

uint32_t tf_hal_cycles(void) {
  uint32_t primask;
  uint32_t periods;
  uint32_t value;
  __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
  periods = tf_systick_periods;
  value = TF_SYST_CVR;
  if ((TF_SCB_ICSR & TF_SCB_ICSR_PENDSTSET) != 0u) {
    /* The counter reached 0 but the exception has not run yet (it cannot while masked):
     * count that period, and re-read the value, which is now certainly from the new period. */
    periods += 1u;
    value = TF_SYST_CVR;
  }
  __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
  /* In a period the counter reads reload, reload-1, ..., 1, then 0 when the exception is
   * raised: position 1, 2, ..., reload, then position 0 of the next period. */
  return periods * (TF_HAL_SYSTICK_RELOAD + 1u) + (value == 0u ? 0u : TF_HAL_SYSTICK_RELOAD + 1u - value);
}

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return "systick"; }

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
