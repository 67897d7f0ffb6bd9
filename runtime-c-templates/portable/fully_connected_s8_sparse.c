/* tinyforge kernel: int8 fully connected over tile-sparse weights. The compiler cuts the
 * weights into tiles of 4 rows x 4 columns (rows 4g..4g+3, columns 4s..4s+3), drops the tiles
 * that are all zero and stores the rest in the dense kernel's interleaved order
 * ([row in group][4]); per row group it stores the number of kept tiles and each tile's column
 * step. Zero weights add nothing to an accumulator, and the folded bias was computed from the
 * full weights, so the integers are exactly those of the dense kernel. accum_depth % 4 == 0. */
#include "tf_simd.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max, requant;
    const uint16_t *counts; /* [(out_depth + 3) / 4] kept tiles per row group */
    const uint16_t *steps;  /* [tiles] column step (4-byte input word) of each kept tile, ascending per group */
    const int8_t *tiles;    /* [tiles][4 rows][4] */
    const int32_t *bias;    /* [out_depth], offset folded */
} tf_fully_connected_s8_sparse_params;

#if TF_HAVE_DSP && defined(__thumb2__)
/* acc[0..3] += input . rows 0..3 over n >= 1 tiles at the listed steps.
 * AAPCS: r0 = input, r1 = tiles, r2 = steps, r3 = n, [sp] = acc[4]. */
void tf_mac_4rows_sparse_s8(const int8_t *input, const int8_t *tiles, const uint16_t *steps, int32_t n, int32_t *acc);
__asm__(
    "    .text\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mac_4rows_sparse_s8, %function\n"
    "tf_mac_4rows_sparse_s8:\n"
    "    push {r3-r11, lr}\n"
    "    add r3, r2, r3, lsl #1\n"
    "    str r3, [sp]\n"
    "    ldr r3, [sp, #40]\n"
    "    ldm r3, {r4, r5, r6, r7}\n"
    "1:\n"
    "    ldrh r12, [r2], #2\n"
    "    ldr r12, [r0, r12, lsl #2]\n"
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
    "    ldr r3, [sp]\n"
    "    cmp r2, r3\n"
    "    bne 1b\n"
    "    ldr r3, [sp, #40]\n"
    "    stm r3, {r4, r5, r6, r7}\n"
    "    pop {r3-r11, pc}\n"
    "    .size tf_mac_4rows_sparse_s8, . - tf_mac_4rows_sparse_s8\n");
#else
static void tf_mac_4rows_sparse_s8(const int8_t *input, const int8_t *tiles, const uint16_t *steps, int32_t n, int32_t *acc) {
    for (int32_t t = 0; t < n; ++t, tiles += 16) {
        const int8_t *x = input + 4 * (int32_t)steps[t];
        for (int r = 0; r < 4; ++r) {
            const int8_t *w = tiles + 4 * r;
            acc[r] += x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + x[3] * w[3];
        }
    }
}
#endif

static void tf_fully_connected_s8_sparse(const tf_fully_connected_s8_sparse_params *p, const int8_t *input, int8_t *output) {
    const int32_t depth = p->accum_depth, out_depth = p->out_depth;
    const int32_t out_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    const int mode = (int)p->requant;
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * out_depth;
        const int8_t *w = p->tiles;
        const uint16_t *steps = p->steps;
        for (int32_t o = 0, g = 0; o < out_depth; o += 4, ++g) {
            const int32_t n = p->counts[g];
            int32_t acc[4];
            for (int r = 0; r < 4; ++r) acc[r] = o + r < out_depth ? p->bias[o + r] : 0;
            if (n > 0) tf_mac_4rows_sparse_s8(in, w, steps, n, acc);
            w += 16 * n;
            steps += n;
            for (int r = 0; r < 4 && o + r < out_depth; ++r) {
                const int32_t q = mode == TF_REQUANT_FAST ? tf_requantize_fast(acc[r], p->multiplier, -p->shift)
                                                          : tf_requantize_mode(mode, acc[r], p->multiplier, p->shift);
                out[o + r] = tf_clamp_s8(q + out_offset, act_min, act_max);
            }
        }
    }
}
