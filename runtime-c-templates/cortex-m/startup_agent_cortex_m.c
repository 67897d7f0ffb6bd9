/* C startup for the tinyforge agent firmware on Cortex-M (QEMU mps2-an385 / an386 / an500 with
 * mps2.ld, mps3-an547 with mps3_an547.ld), linked with -nostartfiles. No semihosting: the
 * firmware talks only through the UART of the board's HAL (hal_mps2.c, hal_mps3_an547.c).
 *
 * Reset: enable the FPU/MVE (when compiled for one), copy .data from flash, zero .bss, call
 * main(). main() is not expected to return.
 *
 * Faults: every fault or unexpected exception prints one line on the UART,
 *
 *   "\r\n*** TF-FAULT <name> pc=0x%08x lr=0x%08x cfsr=0x%08x hfsr=0x%08x ***\r\n"
 *
 * (pc/lr from the stacked exception frame; <name> is NMI, HardFault, MemManage, BusFault,
 * UsageFault, SecureFault, IRQ<n> for an unexpected exception number n, or MainReturned with
 * pc = main's return value) and then requests a system reset (AIRCR.SYSRESETREQ): a real board
 * restarts the firmware, QEMU resets the machine (or exits when started with -no-reboot).
 *
 * The HAL provides, besides tf_hal.h, two board hooks used here:
 *   void tf_hal_panic_write(const uint8_t *data, uint32_t n);  UART write usable from a fault,
 *                                                              before or after tf_hal_init()
 *   void tf_hal_panic_flush(void);                            wait until that output has left
 * A HAL that needs interrupts (SysTick on an547) defines the strong SysTick_Handler. */
#include <stdint.h>

#include "cortex_m_reset.h"

/* System control block registers (ARMv7-M / ARMv8-M). */
#define TF_SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define TF_SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define TF_SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

#define TF_FAULT_NMI 2u
#define TF_FAULT_HARDFAULT 3u
#define TF_FAULT_MEMMANAGE 4u
#define TF_FAULT_BUSFAULT 5u
#define TF_FAULT_USAGEFAULT 6u
#define TF_FAULT_SECUREFAULT 7u
#define TF_FAULT_MAIN_RETURNED 0xFFu


int main(void);

/* Board hooks, defined by the HAL. */
void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);

void Reset_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SecureFault_Handler(void);
void Default_Handler(void);
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void tf_fault_report(const uint32_t *frame, uint32_t kind) __attribute__((noreturn, used));

typedef void (*tf_vector_t)(void);

/* 16 system entries + 32 external interrupts. Nothing here enables an external interrupt; the
 * table sits at the start of the code region, which is where VTOR points at reset. */
__attribute__((section(".isr_vector"), used)) const tf_vector_t tf_vector_table[16 + 32] = {
    (tf_vector_t)__StackTop,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    SecureFault_Handler, /* ARMv8-M with the Security Extension; reserved on ARMv7-M */
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};

void Reset_Handler(void) {
  tf_cortex_m_prepare();

  {
    uint32_t frame[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    frame[6] = (uint32_t)main();
    tf_fault_report(frame, TF_FAULT_MAIN_RETURNED);
  }
}

/* Each handler passes the exception frame (MSP or PSP, whichever was in use) and its kind. */
#define TF_FAULT_STUB(name, kind)                 \
  __attribute__((naked)) void name(void) {        \
    __asm__ volatile(                             \
        "tst lr, #4\n\t"                          \
        "ite eq\n\t"                              \
        "mrseq r0, msp\n\t"                       \
        "mrsne r0, psp\n\t"                       \
        "movs r1, #" #kind "\n\t"                 \
        "b tf_fault_report\n\t");                 \
  }

TF_FAULT_STUB(NMI_Handler, 2)
TF_FAULT_STUB(HardFault_Handler, 3)
TF_FAULT_STUB(MemManage_Handler, 4)
TF_FAULT_STUB(BusFault_Handler, 5)
TF_FAULT_STUB(UsageFault_Handler, 6)
TF_FAULT_STUB(SecureFault_Handler, 7)
/* kind 0: read the exception number from IPSR. */
TF_FAULT_STUB(Default_Handler, 0)

static uint32_t tf_put_str(uint8_t *buf, uint32_t at, const char *s) {
  while (*s != '\0') {
    buf[at++] = (uint8_t)*s++;
  }
  return at;
}

static uint32_t tf_put_hex(uint8_t *buf, uint32_t at, uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  int shift;
  buf[at++] = '0';
  buf[at++] = 'x';
  for (shift = 28; shift >= 0; shift -= 4) {
    buf[at++] = (uint8_t)digits[(v >> (uint32_t)shift) & 0xFu];
  }
  return at;
}

static uint32_t tf_put_dec(uint8_t *buf, uint32_t at, uint32_t v) {
  char tmp[10];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0u);
  while (n > 0) {
    buf[at++] = (uint8_t)tmp[--n];
  }
  return at;
}

void tf_fault_report(const uint32_t *frame, uint32_t kind) {
  uint8_t msg[128];
  uint32_t n = 0;
  uint32_t cfsr = TF_SCB_CFSR;
  uint32_t hfsr = TF_SCB_HFSR;

  n = tf_put_str(msg, n, "\r\n*** TF-FAULT ");
  switch (kind) {
    case TF_FAULT_NMI: n = tf_put_str(msg, n, "NMI"); break;
    case TF_FAULT_HARDFAULT: n = tf_put_str(msg, n, "HardFault"); break;
    case TF_FAULT_MEMMANAGE: n = tf_put_str(msg, n, "MemManage"); break;
    case TF_FAULT_BUSFAULT: n = tf_put_str(msg, n, "BusFault"); break;
    case TF_FAULT_USAGEFAULT: n = tf_put_str(msg, n, "UsageFault"); break;
    case TF_FAULT_SECUREFAULT: n = tf_put_str(msg, n, "SecureFault"); break;
    case TF_FAULT_MAIN_RETURNED: n = tf_put_str(msg, n, "MainReturned"); break;
    default: {
      uint32_t ipsr;
      __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
      n = tf_put_str(msg, n, "IRQ");
      n = tf_put_dec(msg, n, ipsr & 0x1FFu);
      break;
    }
  }
  n = tf_put_str(msg, n, " pc=");
  n = tf_put_hex(msg, n, frame[6]);
  n = tf_put_str(msg, n, " lr=");
  n = tf_put_hex(msg, n, frame[5]);
  n = tf_put_str(msg, n, " cfsr=");
  n = tf_put_hex(msg, n, cfsr);
  n = tf_put_str(msg, n, " hfsr=");
  n = tf_put_hex(msg, n, hfsr);
  n = tf_put_str(msg, n, " ***\r\n");

  tf_hal_panic_write(msg, n);
  tf_hal_panic_flush();

  /* SYSRESETREQ with the register key. */
  __asm__ volatile("dsb" ::: "memory");
  TF_SCB_AIRCR = (0x05FAu << 16) | (1u << 2);
  __asm__ volatile("dsb" ::: "memory");
  for (;;) {
    /* Until the reset takes effect. */
  }
}
