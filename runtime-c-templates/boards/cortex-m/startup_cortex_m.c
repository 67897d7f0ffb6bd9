/* tinyforge board support: reset and exception entry for the agent firmware on real Cortex-M
 * boards (STM32F4, STM32H7, nRF52840) built by the generated CMake project with its generated
 * linker script and -nostartfiles. No vendor startup file or CMSIS device header is involved.
 *
 * Vector table (section .isr_vector, placed by the linker script at the start of flash, where
 * the core fetches the initial SP and PC at reset): the 16 architectural entries followed by
 * TF_BOARD_NUM_IRQS device interrupt entries (tf_board_config.h). Nothing in the firmware
 * enables a device interrupt; every entry but Reset leads to the fault report below.
 *
 * Reset_Handler: point VTOR at this table, then the reset every tinyforge Cortex-M startup shares
 * (cortex_m_reset.h: FPU/MVE access, fault handlers by name, division-by-zero trap, .data copy,
 * .bss zeroing), then main(). The C library is not initialised (no constructors, no stdio): the
 * agent and the generated model use neither.
 *
 * Faults: the handler prints one line on the agent's UART,
 *
 *   "\r\n*** TF-FAULT <name> pc=0x%08x lr=0x%08x cfsr=0x%08x ***\r\n"
 *
 * (<name>: NMI, HardFault, MemManage, BusFault, UsageFault, SVCall, PendSV, SysTick, IRQ<n> for
 * device interrupt n, or MainReturned with pc = main's return value), then requests a system
 * reset. The HAL provides the two hooks it needs:
 *   void tf_hal_panic_write(const uint8_t *data, uint32_t n);  usable before tf_hal_init()
 *   void tf_hal_panic_flush(void);                            waits until the bytes are out */
#include <stdint.h>

#include "cortex_m_reset.h"
#include "tf_board_config.h"

#ifndef TF_BOARD_NUM_IRQS
#define TF_BOARD_NUM_IRQS 32
#endif

#define TF_SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define TF_SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define TF_SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define TF_AIRCR_RESET ((0x05FAu << 16) | (1u << 2))

int main(void);

void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);

void Reset_Handler(void);
void tf_exception_entry(void);
void tf_exception_report(const uint32_t *frame) __attribute__((noreturn, used));
/* number < 0: none; otherwise appended to name in decimal. */
static void tf_report(const char *name, int32_t number, uint32_t pc, uint32_t lr) __attribute__((noreturn));

typedef void (*tf_vector_t)(void);

/* Slot 0 is the initial stack pointer, slot 1 the reset entry, slots 7-10 and 13 are reserved. */
__attribute__((section(".isr_vector"), used)) const tf_vector_t tf_vectors[16 + TF_BOARD_NUM_IRQS] = {
    [0] = (tf_vector_t)(uintptr_t)__StackTop,
    [1] = Reset_Handler,
    [2] = tf_exception_entry,
    [3] = tf_exception_entry,
    [4] = tf_exception_entry,
    [5] = tf_exception_entry,
    [6] = tf_exception_entry,
    [11] = tf_exception_entry,
    [12] = tf_exception_entry,
    [14] = tf_exception_entry,
    [15] = tf_exception_entry,
    [16 ... 16 + TF_BOARD_NUM_IRQS - 1] = tf_exception_entry,
};

void Reset_Handler(void) {
  /* This table, also when a bootloader jumped here with VTOR pointing at its own (the STM32
   * system bootloader's GO command does not set it). */
  TF_SCB_VTOR = (uint32_t)(uintptr_t)tf_vectors;
  tf_cortex_m_prepare();

  tf_report("MainReturned", -1, (uint32_t)main(), 0u);
}

/* Finds the stacked exception frame (bit 2 of EXC_RETURN says MSP or PSP) and hands it on. */
__attribute__((naked)) void tf_exception_entry(void) {
  __asm__ volatile(
      "movs r0, #4\n\t"
      "mov r1, lr\n\t"
      "tst r0, r1\n\t"
      "bne 1f\n\t"
      "mrs r0, msp\n\t"
      "b tf_exception_report\n"
      "1:\n\t"
      "mrs r0, psp\n\t"
      "b tf_exception_report\n\t");
}

void tf_exception_report(const uint32_t *frame) {
  static const char *const names[16] = {
      0,          0,           "NMI",        "HardFault",  "MemManage", "BusFault", "UsageFault", "Reserved7",
      "Reserved8", "Reserved9", "Reserved10", "SVCall",     "DebugMon",  "Reserved13", "PendSV",   "SysTick",
  };
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  ipsr &= 0x1FFu;
  if (ipsr >= 16u) {
    tf_report("IRQ", (int32_t)(ipsr - 16u), frame[6], frame[5]);
  }
  tf_report(names[ipsr] != 0 ? names[ipsr] : "Exception", -1, frame[6], frame[5]);
}

static uint32_t tf_append(uint8_t *buf, uint32_t at, const char *s) {
  while (*s != '\0') {
    buf[at++] = (uint8_t)*s++;
  }
  return at;
}

static uint32_t tf_append_hex(uint8_t *buf, uint32_t at, uint32_t v) {
  int shift;
  at = tf_append(buf, at, "0x");
  for (shift = 28; shift >= 0; shift -= 4) {
    buf[at++] = (uint8_t)"0123456789abcdef"[(v >> (uint32_t)shift) & 0xFu];
  }
  return at;
}

static void tf_report(const char *name, int32_t number, uint32_t pc, uint32_t lr) {
  uint8_t line[112];
  uint32_t n = tf_append(line, 0u, "\r\n*** TF-FAULT ");
  n = tf_append(line, n, name);
  if (number >= 0) {
    uint32_t v = (uint32_t)number;
    char digits[4];
    int k = 0;
    do {
      digits[k++] = (char)('0' + v % 10u);
      v /= 10u;
    } while (v != 0u && k < 4);
    while (k > 0) {
      line[n++] = (uint8_t)digits[--k];
    }
  }
  n = tf_append(line, n, " pc=");
  n = tf_append_hex(line, n, pc);
  n = tf_append(line, n, " lr=");
  n = tf_append_hex(line, n, lr);
  n = tf_append(line, n, " cfsr=");
  n = tf_append_hex(line, n, TF_SCB_CFSR);
  n = tf_append(line, n, " ***\r\n");
  tf_hal_panic_write(line, n);
  tf_hal_panic_flush();
  __asm__ volatile("dsb" ::: "memory");
  TF_SCB_AIRCR = TF_AIRCR_RESET;
  __asm__ volatile("dsb" ::: "memory");
  for (;;) {
  }
}
