/* tf_hal.h for QEMU's riscv32 `virt` machine (rv32imc, M-mode, -bios none): UART over the
 * NS16550A at 0x10000000, cycle counter from the mcycle CSR. No semihosting. Link with
 * startup_virt.S, startup_virt.c and virt.ld.
 *
 * Cycle counter: mcycle (low 32 bits), tf_hal_cycles_per_tick() == 1.
 *
 * What a tick means under QEMU: QEMU does not model cycles. With `-icount shift=0`, QEMU 7.2
 * derives mcycle from the instruction counter (virtual time in ns, 1 ns per instruction), so one
 * tick = one retired instruction, exactly and deterministically. Without -icount, mcycle follows
 * the host's time-stamp counter and the numbers mean nothing. */
#include <stdint.h>

#include "tf_hal.h"

#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
/* QEMU's virt UART input clock. */
#define TF_UART_CLOCK_HZ 3686400u

/* NS16550A, byte-wide registers (reg-shift 0). */
#define TF_UART_BASE 0x10000000u
#define TF_UART_REG(off) (*(volatile uint8_t *)(TF_UART_BASE + (off)))
#define TF_UART_RBR TF_UART_REG(0u) /* read, DLAB = 0 */
#define TF_UART_THR TF_UART_REG(0u) /* write, DLAB = 0 */
#define TF_UART_DLL TF_UART_REG(0u) /* DLAB = 1 */
#define TF_UART_IER TF_UART_REG(1u) /* DLAB = 0 */
#define TF_UART_DLM TF_UART_REG(1u) /* DLAB = 1 */
#define TF_UART_FCR TF_UART_REG(2u)
#define TF_UART_LCR TF_UART_REG(3u)
#define TF_UART_MCR TF_UART_REG(4u)
#define TF_UART_LSR TF_UART_REG(5u)
#define TF_UART_LSR_DR 0x01u   /* receive data ready */
#define TF_UART_LSR_THRE 0x20u /* transmit holding register empty */
#define TF_UART_LSR_TEMT 0x40u /* transmitter empty */
#define TF_UART_LCR_8N1 0x03u
#define TF_UART_LCR_DLAB 0x80u

/* SiFive test device ("finisher"): writing 0x7777 resets the machine. */
#define TF_VIRT_TEST (*(volatile uint32_t *)0x00100000u)
#define TF_VIRT_TEST_RESET 0x7777u

extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

/* Board hooks for tf_trap_report() in startup_virt.c. */
void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);
void tf_hal_system_reset(void) __attribute__((noreturn));

static uint8_t tf_uart_ready;

static void tf_uart_setup(void) {
  const uint32_t divisor = (TF_UART_CLOCK_HZ + 8u * TF_HAL_BAUD) / (16u * TF_HAL_BAUD);
  TF_UART_IER = 0x00u; /* polled: no interrupts */
  TF_UART_LCR = TF_UART_LCR_DLAB;
  TF_UART_DLL = (uint8_t)(divisor & 0xFFu);
  TF_UART_DLM = (uint8_t)(divisor >> 8);
  TF_UART_LCR = TF_UART_LCR_8N1;
  TF_UART_FCR = 0x07u; /* enable and clear both FIFOs */
  TF_UART_MCR = 0x03u; /* DTR, RTS; loopback off */
  tf_uart_ready = 1u;
}

void tf_hal_init(void) { tf_uart_setup(); }

uint8_t tf_hal_uart_getc(void) {
  while ((TF_UART_LSR & TF_UART_LSR_DR) == 0u) {
  }
  return TF_UART_RBR;
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; ++i) {
    while ((TF_UART_LSR & TF_UART_LSR_THRE) == 0u) {
    }
    TF_UART_THR = data[i];
  }
}

uint32_t tf_hal_cycles(void) {
  uint32_t c;
  /* -march=rv32imc (ISA spec 20191213) leaves the CSR instructions out of the base ISA. */
  __asm__ volatile(".option push\n\t.option arch, +zicsr\n\tcsrr %0, mcycle\n\t.option pop" : "=r"(c));
  return c;
}

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return "mcycle"; }

uint8_t *tf_hal_stack_lowest(void) { return __StackLimit; }

uint8_t *tf_hal_stack_top(void) { return __StackTop; }

void tf_hal_panic_write(const uint8_t *data, uint32_t n) {
  /* .bss is zeroed before anything can trap, so tf_uart_ready is meaningful here. Re-running
   * the setup after tf_hal_init() would clear the FIFOs and lose queued output. */
  if (!tf_uart_ready) {
    tf_uart_setup();
  }
  tf_hal_uart_write(data, n);
}

void tf_hal_panic_flush(void) {
  while ((TF_UART_LSR & TF_UART_LSR_TEMT) == 0u) {
  }
}

void tf_hal_system_reset(void) {
  TF_VIRT_TEST = TF_VIRT_TEST_RESET;
  for (;;) {
    /* Until the reset takes effect. */
  }
}
