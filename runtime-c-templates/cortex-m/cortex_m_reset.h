/* tinyforge: what every Cortex-M startup (the emulated boards' and the real boards' in generated
 * CMake projects) does before main(): give the FPU/MVE access, report MemManage/BusFault/UsageFault
 * under their own handlers instead of escalating them to HardFault, trap integer division by zero
 * like a host would, copy .data from flash and zero .bss. The linker scripts (mps2.ld,
 * mps3_an547.ld, and the generated board scripts) export the symbols. */
#ifndef TF_CORTEX_M_RESET_H
#define TF_CORTEX_M_RESET_H

#include <stdint.h>

/* System control block registers (ARMv7-M / ARMv8-M). */
#define TF_SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define TF_SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define TF_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

extern uint32_t __data_load__[];
extern uint32_t __data_start__[];
extern uint32_t __data_end__[];
extern uint32_t __bss_start__[];
extern uint32_t __bss_end__[];
extern uint32_t __StackTop[];

static inline void tf_cortex_m_prepare(void) {
  uint32_t *src;
  uint32_t *dst;

#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  /* Full access to CP10/CP11 (FPU and, on Armv8.1-M, MVE) before any such instruction runs. */
  TF_SCB_CPACR |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif

  TF_SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);
  TF_SCB_CCR |= 1u << 4;

  src = __data_load__;
  for (dst = __data_start__; dst < __data_end__; ++dst, ++src) {
    *dst = *src;
  }
  for (dst = __bss_start__; dst < __bss_end__; ++dst) {
    *dst = 0;
  }
}

#endif /* TF_CORTEX_M_RESET_H */
