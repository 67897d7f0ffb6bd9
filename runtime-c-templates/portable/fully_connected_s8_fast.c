/* tinyforge kernel: int8 fully connected. Compile-time preparation folds the input offset into
 * the bias, pads rows to a multiple of 4 and the row count to a multiple of 4, and streams each
 * group of four rows as its four folded biases (int32) followed by the rows interleaved in 4-byte
 * steps (row 4i k..k+3, row 4i+1 k..k+3, ..., row 4i k+4..k+7), so one load fetches four rows'
 * weights and each input word serves four rows.
 * On Thumb-2 cores with the DSP extension, TF_REQUANT_FAST layers whose depth is a multiple of 4
 * run every whole group of four rows in one assembly routine that also requantizes, packs and
 * clamps the four outputs in registers (tf_fc_rq_s8); the last out_depth % 4 rows, other depths
 * and other modes take the C loop around tf_mac_4rows_s8. */
#include "tf_simd.h"
#include "mac_4rows_s8.h"

typedef struct {
    int32_t batches, accum_depth, k4, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max, requant;
    const int8_t *filter; /* [(out_depth + 3) / 4][16 + 4 * k4]: bias[4] as int32, then [k4 / 4][4][4] */
} tf_fully_connected_s8_fast_params;

#if TF_HAVE_DSP && defined(__thumb2__)
/* TF_REQUANT_FAST (every accumulator proven small, shift <= -1), depth a multiple of 4: all
 * `groups` whole groups of four rows. Per group the biases open the accumulators, the steps run
 * two per turn (an odd one first), and the four accumulators are requantized as tf_requantize_fast
 * does, with the rounding divide by 2^rs written as ((x - (x < 0)) >> (rs - 1)) + 1) >> 1, offset,
 * saturated to int8, packed, clamped four bytes at a time and stored as one word.
 * AAPCS: r0 = input, r1 = stream, r2 = output, r3 = args. */
typedef struct {
    int32_t groups;        /* [0] */
    int32_t steps;         /* [4] (>= 1) */
    int32_t multiplier;    /* [8] */
    int32_t rs_minus_1;    /* [12] right shift - 1 */
    int32_t output_offset; /* [16] */
    uint32_t lo4, hi4;     /* [20] [24] act_min, act_max in every byte */
} tf_fc_rq_args;
void tf_fc_rq_s8(const int8_t *input, const int8_t *stream, int8_t *output, const tf_fc_rq_args *args);
#define TF_FC_RQ_ONE(acc)                                                                        \
    "    lsl " acc ", " acc ", #1\n"                                                            \
    "    smmulr " acc ", " acc ", r8\n"                                                         \
    "    add " acc ", " acc ", " acc ", asr #31\n"                                              \
    "    asr " acc ", " acc ", r9\n"                                                            \
    "    add " acc ", " acc ", #1\n"                                                            \
    "    asr " acc ", " acc ", #1\n"
/* Frame: [sp] output, [sp + 4] input, [sp + 8] args, [sp + 12] groups left. */
__asm__(
    "    .pushsection .text.tf_fc_rq_s8,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_fc_rq_s8, %function\n"
    "tf_fc_rq_s8:\n"
    "    push {r4-r11, lr}\n"
    "    sub sp, sp, #16\n"
    "    strd r2, r0, [sp]\n"
    "    ldr r12, [r3]\n"
    "    strd r3, r12, [sp, #8]\n"
    "1:\n"
    "    ldm r1!, {r4, r5, r6, r7}\n"
    "    ldrd r0, r3, [sp, #4]\n"
    "    ldr r2, [r3, #4]\n"
    "    lsrs r2, r2, #1\n"
    "    bcc 5f\n"
    TF_FC_STEP
    "5:\n"
    "    beq 6f\n" /* Z from the LSRS: no whole pair of steps (the odd step sets no flags) */
    "2:\n"
    TF_FC_STEP
    TF_FC_STEP
    "    subs r2, r2, #1\n"
    "    bne 2b\n"
    "6:\n"
    "    ldr r12, [sp, #8]\n"
    "    ldrd r8, r9, [r12, #8]\n"
    TF_FC_RQ_ONE("r4") TF_FC_RQ_ONE("r5") TF_FC_RQ_ONE("r6") TF_FC_RQ_ONE("r7")
    "    ldr r10, [r12, #16]\n"
    "    add r4, r4, r10\n"
    "    add r5, r5, r10\n"
    "    add r6, r6, r10\n"
    "    add r7, r7, r10\n"
    "    ssat r4, #8, r4\n"
    "    ssat r5, #8, r5\n"
    "    ssat r6, #8, r6\n"
    "    ssat r7, #8, r7\n"
    "    bfi r4, r5, #8, #8\n"
    "    bfi r4, r6, #16, #8\n"
    "    bfi r4, r7, #24, #8\n"
    "    ldrd r8, r9, [r12, #20]\n"
    "    ssub8 r10, r4, r8\n"
    "    sel r4, r4, r8\n"
    "    ssub8 r10, r4, r9\n"
    "    sel r4, r9, r4\n"
    "    ldr r12, [sp]\n"
    "    str r4, [r12], #4\n"
    "    str r12, [sp]\n"
    "    ldr r12, [sp, #12]\n"
    "    subs r12, r12, #1\n"
    "    str r12, [sp, #12]\n"
    "    bne 1b\n"
    "    add sp, sp, #16\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_fc_rq_s8, . - tf_fc_rq_s8\n"
    "    .popsection\n");
#define TF_FC_RQ_ASM 1
#else
#define TF_FC_RQ_ASM 0
#endif

static void tf_fully_connected_s8_fast(const tf_fully_connected_s8_fast_params *p, const int8_t *input, int8_t *output) {
    const int32_t k4 = p->k4, depth = p->accum_depth, out_depth = p->out_depth, steps = depth / 4;
    const int32_t out_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    const int32_t group_bytes = 16 + 4 * k4;
    const int mode = (int)p->requant;
#if TF_FC_RQ_ASM
    const int fused = mode == TF_REQUANT_FAST && steps > 0 && steps * 4 == depth && out_depth >= 4;
    tf_fc_rq_args args;
    args.groups = out_depth / 4;
    args.steps = steps;
    args.multiplier = p->multiplier;
    args.rs_minus_1 = -p->shift - 1;
    args.output_offset = out_offset;
    args.lo4 = 0x01010101u * (uint8_t)act_min;
    args.hi4 = 0x01010101u * (uint8_t)act_max;
#endif
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * out_depth;
        const int8_t *g = p->filter;
        int32_t o = 0;
#if TF_FC_RQ_ASM
        if (fused) {
            tf_fc_rq_s8(in, g, out, &args);
            o = args.groups * 4;
            g += args.groups * group_bytes;
        }
#endif
        for (; o < out_depth; o += 4, g += group_bytes) {
            const int8_t *w = g + 16;
            int32_t acc[4];
            memcpy(acc, g, sizeof acc);
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
