/* tinyforge board support: the DWT cycle counter of ARMv7-M / ARMv7E-M cores (Cortex-M3, M4, M7),
 * shared by the HALs of the STM32, nRF52 and Arduino Nano 33 BLE projects.
 *
 * CYCCNT counts core clock cycles, 32 bits, wrapping every 2^32 cycles (about 67 s at 64 MHz);
 * the agent only takes differences, which stay right across one wrap. Set TF_DWT_UNLOCK to 1
 * before including this header on a Cortex-M7: its DWT ignores writes until the CoreSight lock
 * access register has been given the key (on a Cortex-M4 that register is not implemented, so it
 * is not touched there). */
#ifndef TF_DWT_H
#define TF_DWT_H

#include <stdint.h>

#define TF_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TF_DEMCR_TRCENA (1u << 24)
#define TF_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TF_DWT_CTRL_CYCCNTENA 1u
#define TF_DWT_CTRL_NOCYCCNT (1u << 25)
#define TF_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TF_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#define TF_DWT_LAR_KEY 0xC5ACCE55u

#ifndef TF_DWT_UNLOCK
#define TF_DWT_UNLOCK 0
#endif

/* Enables trace (DEMCR.TRCENA), clears and starts CYCCNT. Returns 1 when the counter runs: the
 * core has one (DWT_CTRL.NOCYCCNT clear) and it moved across a few register reads. Returns 0
 * otherwise (no counter, or a locked DWT), and the HAL then names its counter "none" in HELLO so
 * the host prints no cycle counts instead of zeros. */
static inline int tf_dwt_start(void) {
  uint32_t before;
  TF_DEMCR |= TF_DEMCR_TRCENA;
#if TF_DWT_UNLOCK
  TF_DWT_LAR = TF_DWT_LAR_KEY;
#endif
  if ((TF_DWT_CTRL & TF_DWT_CTRL_NOCYCCNT) != 0u) {
    return 0;
  }
  TF_DWT_CYCCNT = 0u;
  TF_DWT_CTRL |= TF_DWT_CTRL_CYCCNTENA;
  before = TF_DWT_CYCCNT;
  (void)TF_DWT_CTRL;
  (void)TF_DWT_CTRL;
  return TF_DWT_CYCCNT != before ? 1 : 0;
}

static inline uint32_t tf_dwt_cycles(void) { return TF_DWT_CYCCNT; }

#endif /* TF_DWT_H */
