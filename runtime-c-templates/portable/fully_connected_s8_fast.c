/* tinyforge kernel: int8 fully connected. Compile-time preparation folds the input offset into
 * the bias, pads rows to a multiple of 4 and the row count to a multiple of 4, and interleaves
 * groups of four rows in 4-byte steps (row 4i k..k+3, row 4i+1 k..k+3, ..., row 4i k+4..k+7),
 * so one load fetches four rows' weights and each input word serves four rows. */
#include "tf_simd.h"

typedef struct {
    int32_t batches, accum_depth, k4, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max, requant;
    const int8_t *filter; /* [(out_depth + 3) / 4][k4 / 4][4][4] */
    const int32_t *bias;  /* [out_depth], offset folded */
} tf_fully_connected_s8_fast_params;

#if TF_HAVE_DSP && defined(__thumb2__)
/* acc[0..3] += input . rows 0..3 over `steps` full 4-byte steps.
 * AAPCS: r0 = input, r1 = interleaved filter group, r2 = steps (>= 1), r3 = acc[4]. */
void tf_mac_4rows_s8(const int8_t *input, const int8_t *filter, int32_t steps, int32_t *acc);
__asm__(
    "    .text\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mac_4rows_s8, %function\n"
    "tf_mac_4rows_s8:\n"
    "    push {r3-r11, lr}\n"
    "    ldm r3, {r4, r5, r6, r7}\n"
    "1:\n"
    "    ldr r12, [r0], #4\n"
    "    ldm r1!, {r8, r9, r10, r11}\n"
    "    sxtb16 lr, r12\n"
    "    sxtb16 r12, r12, ror #8\n"
    "    sxtb16 r3, r8\n"
    "    sxtb16 r8, r8, ror #8\n"
    "    smlad r4, lr, r3, r4\n"
    "    smlad r4, r12, r8, r4\n"
    "    sxtb16 r3, r9\n"
    "    sxtb16 r9, r9, ror #8\n"
    "    smlad r5, lr, r3, r5\n"
    "    smlad r5, r12, r9, r5\n"
    "    sxtb16 r3, r10\n"
    "    sxtb16 r10, r10, ror #8\n"
    "    smlad r6, lr, r3, r6\n"
    "    smlad r6, r12, r10, r6\n"
    "    sxtb16 r3, r11\n"
    "    sxtb16 r11, r11, ror #8\n"
    "    smlad r7, lr, r3, r7\n"
    "    smlad r7, r12, r11, r7\n"
    "    subs r2, r2, #1\n"
    "    bne 1b\n"
    "    ldr r3, [sp]\n"
    "    stm r3, {r4, r5, r6, r7}\n"
    "    pop {r3-r11, pc}\n"
    "    .size tf_mac_4rows_s8, . - tf_mac_4rows_s8\n");
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

static void tf_fully_connected_s8_fast(const tf_fully_connected_s8_fast_params *p, const int8_t *input, int8_t *output) {
    const int32_t k4 = p->k4, depth = p->accum_depth, out_depth = p->out_depth, steps = depth / 4;
    const int32_t out_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    const int mode = (int)p->requant;
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * out_depth;
        const int8_t *w = p->filter;
        for (int32_t o = 0; o < out_depth; o += 4, w += 4 * k4) {
            int32_t acc[4];
            for (int r = 0; r < 4; ++r) acc[r] = o + r < out_depth ? p->bias[o + r] : 0;
            if (steps > 0) tf_mac_4rows_s8(in, w, steps, acc);
            /* The last depth % 4 inputs: the tail of the interleaved step. */
            for (int32_t k = steps * 4; k < depth; ++k) {
                for (int r = 0; r < 4; ++r) acc[r] += in[k] * w[steps * 16 + 4 * r + (k - steps * 4)];
            }
            for (int r = 0; r < 4 && o + r < out_depth; ++r) {
                const int32_t q = mode == TF_REQUANT_FAST ? tf_requantize_fast(acc[r], p->multiplier, -p->shift)
                                                          : tf_requantize_mode(mode, acc[r], p->multiplier, p->shift);
                out[o + r] = tf_clamp_s8(q + out_offset, act_min, act_max);
            }
        }
    }
}
