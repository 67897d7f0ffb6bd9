/* Minimal C startup for Cortex-M under QEMU (mps2-an385 / an386 / an500), linked with mps2.ld
 * and -nostartfiles.
 *
 * Reset: enable the FPU (when compiled for one), copy .data from flash, zero .bss, call main(),
 * then leave QEMU through semihosting SYS_EXIT_EXTENDED with main's return value.
 * Every fault or unexpected exception also exits, with a distinct status, so a crash is
 * reported instead of hanging the emulator:
 *   100 NMI, 101 HardFault, 102 MemManage, 103 BusFault, 104 UsageFault,
 *   105 any other exception or interrupt. */
#include <stdint.h>

#include "cortex_m_reset.h"

#define TF_EXIT_NMI 100
#define TF_EXIT_HARDFAULT 101
#define TF_EXIT_MEMMANAGE 102
#define TF_EXIT_BUSFAULT 103
#define TF_EXIT_USAGEFAULT 104
#define TF_EXIT_UNEXPECTED_IRQ 105



int main(void);

void Reset_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void Default_Handler(void);
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

static void tf_semihost_exit(int code) __attribute__((noreturn));

static void tf_semihost_exit(int code) {
  /* SYS_EXIT_EXTENDED (0x20) with {ADP_Stopped_ApplicationExit, code}: QEMU exits with `code`. */
  static uint32_t block[2];
  block[0] = 0x20026u;
  block[1] = (uint32_t)code;
  {
    register uint32_t r0 __asm__("r0") = 0x20u;
    register const void *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  }
  for (;;) {
  }
}

typedef void (*tf_vector_t)(void);

/* 16 system entries + 32 external interrupts (the mps2 boards wire fewer than that to devices
 * we use; nothing here enables an interrupt). */
__attribute__((section(".isr_vector"), used)) const tf_vector_t tf_vector_table[16 + 32] = {
    (tf_vector_t)__StackTop,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0,
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

  tf_semihost_exit(main());
}

void NMI_Handler(void) { tf_semihost_exit(TF_EXIT_NMI); }
void HardFault_Handler(void) { tf_semihost_exit(TF_EXIT_HARDFAULT); }
void MemManage_Handler(void) { tf_semihost_exit(TF_EXIT_MEMMANAGE); }
void BusFault_Handler(void) { tf_semihost_exit(TF_EXIT_BUSFAULT); }
void UsageFault_Handler(void) { tf_semihost_exit(TF_EXIT_USAGEFAULT); }
void Default_Handler(void) { tf_semihost_exit(TF_EXIT_UNEXPECTED_IRQ); }
