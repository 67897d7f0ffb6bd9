/* A stand-in for a compiled model (test/qemu_xtensa_runtime.test.ts) whose invoke reads a 32-bit
 * word at an odd address, as a kernel that casts an int8 pointer to int32_t * might: Cortex-M
 * allows it, the lx106 (like the ESP32) raises LoadStoreAlignmentCause. */
#include "misaligned.h"

void misaligned_reset(void) {}

__attribute__((noinline)) static uint32_t misaligned_read_word(const int8_t *p) {
  return *(const volatile uint32_t *)(const volatile void *)p;
}

int misaligned_invoke(const int8_t *input0, int8_t *output0) {
  const uint32_t v = misaligned_read_word(input0 + 1);
  for (int i = 0; i < 4; ++i) output0[i] = (int8_t)(v >> (8 * i));
  return 0;
}
