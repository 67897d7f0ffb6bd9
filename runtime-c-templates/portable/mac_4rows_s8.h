/* tinyforge: the inner loop of the int8 matrix-vector kernels that keep weights in groups of four
 * rows interleaved in 4-byte steps ([group][depth / 4][row in group][4]): one input word feeds
 * four rows. Used by fully_connected_s8_fast.c and lstm_s8.c. */
#ifndef TF_MAC_4ROWS_S8_H
#define TF_MAC_4ROWS_S8_H
#include "tf_simd.h"

#if TF_HAVE_DSP && defined(__thumb2__)
/* acc[0..3] += input . rows 0..3 over `steps` full 4-byte steps.
 * AAPCS: r0 = input, r1 = interleaved filter group, r2 = steps (>= 1), r3 = acc[4]. */
void tf_mac_4rows_s8(const int8_t *input, const int8_t *filter, int32_t steps, int32_t *acc);
/* One 4-byte step of four rows: r0 input, r1 filter, r4-r7 accumulators; r3, r8-r12, lr scratch.
 * Also the step of tf_fc_rq_s8 (fully_connected_s8_fast.c). */
#define TF_FC_STEP                                                                           \
    "    ldr r12, [r0], #4\n"                                                                \
    "    ldm r1!, {r8, r9, r10, r11}\n"                                                      \
    "    sxtb16 lr, r12\n"                                                                   \
    "    sxtb16 r12, r12, ror #8\n"                                                          \
    "    sxtb16 r3, r8\n"                                                                    \
    "    sxtb16 r8, r8, ror #8\n"                                                            \
    "    smlad r4, lr, r3, r4\n"                                                             \
    "    smlad r4, r12, r8, r4\n"                                                            \
    "    sxtb16 r3, r9\n"                                                                    \
    "    sxtb16 r9, r9, ror #8\n"                                                            \
    "    smlad r5, lr, r3, r5\n"                                                             \
    "    smlad r5, r12, r9, r5\n"                                                            \
    "    sxtb16 r3, r10\n"                                                                   \
    "    sxtb16 r10, r10, ror #8\n"                                                          \
    "    smlad r6, lr, r3, r6\n"                                                             \
    "    smlad r6, r12, r10, r6\n"                                                           \
    "    sxtb16 r3, r11\n"                                                                   \
    "    sxtb16 r11, r11, ror #8\n"                                                          \
    "    smlad r7, lr, r3, r7\n"                                                             \
    "    smlad r7, r12, r11, r7\n"
__asm__(
    "    .pushsection .text.tf_mac_4rows_s8,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mac_4rows_s8, %function\n"
    "tf_mac_4rows_s8:\n"
    "    push {r3-r11, lr}\n"
    "    ldm r3, {r4, r5, r6, r7}\n"
    "1:\n"
    TF_FC_STEP
    "    subs r2, r2, #1\n"
    "    bne 1b\n"
    "    ldr r3, [sp]\n"
    "    stm r3, {r4, r5, r6, r7}\n"
    "    pop {r3-r11, pc}\n"
    "    .size tf_mac_4rows_s8, . - tf_mac_4rows_s8\n"
    "    .popsection\n");
#else
/* Accumulators in locals and each input loaded once for the four rows: on cores without SIMD
 * (Cortex-M3, RV32IMC) loads, not multiplies, are what this loop spends. */
static void tf_mac_4rows_s8(const int8_t *input, const int8_t *filter, int32_t steps, int32_t *acc) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t s = 0; s < steps; ++s, input += 4, filter += 16) {
        for (int j = 0; j < 4; ++j) {
            const int32_t x = input[j];
            a0 += x * filter[j];
            a1 += x * filter[4 + j];
            a2 += x * filter[8 + j];
            a3 += x * filter[12 + j];
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif
#endif
