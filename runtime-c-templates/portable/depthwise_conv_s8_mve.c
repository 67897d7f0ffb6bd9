/* tinyforge kernel: int8 depthwise convolution, depth multiplier 1, any channel count, in the
 * Helium layout: 16 channels per vector. Per tap, VMULLB/VMULLT.S8 multiply the even and the odd
 * channels into int16 products (exact), VMOVLB/VMOVLT.S16 widen them into four int32
 * accumulators: channels c + {0, 4, 8, 12}, {2, 6, 10, 14}, {1, 5, 9, 13}, {3, 7, 11, 15}.
 * Compile-time preparation folds the input offset into the bias, lays the filter out as
 * [groups of 16 channels][taps][16] (zero-padded), and packs per group the bias, multipliers and
 * min(shift, 0) in that accumulator order. With 2, 4 or 8 channels and stride 1 along x, the 16
 * lanes hold `pack` = 16 / channels neighbouring pixels (filter and tables repeated), which are 16
 * contiguous input bytes for every tap. Taps outside the image read a row of zero points, which
 * contributes nothing after folding.
 *
 * Filters of exactly nine taps in any arrangement (3x3, 9x1, 1x9; any stride or dilation) with
 * whole groups and no positive shift run tf_dw9_mve: it is handed nine tap pointers (it never
 * assumes a 3x3 window), they live in registers and step through the groups with post-increment
 * loads, and a run of interior pixels along a row is one call. Other tap counts take the
 * per-pixel loop tf_depthwise_pixel_mve. */
#include "tf_mve.h"

typedef struct {
    int16_t in_h, in_w, channels, out_h, out_w;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t pack;          /* pixels per 16 lanes: 16 / channels for 2, 4 or 8 channels at stride 1 along x, else 1 */
    int32_t pad_value, output_offset, act_min, act_max;
    const int8_t *filter;  /* [groups][k_h * k_w][16], groups = (channels * pack + 15) / 16 */
    const int32_t *qp;     /* [groups][bias 16, multiplier 16, min(shift, 0) 16], accumulator order, offset folded */
    const int32_t *left;   /* [groups][16] max(shift, 0), accumulator order; NULL when no shift is positive */
} tf_depthwise_conv_s8_mve_params;

/* Accumulator slot of lane j (0..15) of a group: accumulator ((j & 1) << 1 | (j >> 1 & 1)), lane j / 4. */
static inline int tf_dw_slot(int j) {
    return (((j & 1) << 1) | ((j >> 1) & 1)) * 4 + (j >> 2);
}

/* What tf_dw9_mve needs besides the tap pointers; the assembly reads these offsets. */
typedef struct {
    const int8_t *filter;
    const int32_t *qp;
    int32_t groups;
    int32_t tap_step; /* added to every tap pointer after each (packed) pixel, which moved them 16 * groups */
    int32_t output_offset, act_min, act_max;
} tf_dw9_args;

#if TF_HAVE_MVE && defined(__thumb2__)
/* `pixels` consecutive (packed) output pixels of 16 * groups lanes each, written from `out` on, of
 * a nine-tap depthwise convolution whose first pixel reads taps[0..8]. AAPCS: r0 = taps, r1 = out,
 * r2 = pixels (>= 1), r3 = args. Registers: r0-r8 tap pointers, r9 filter, r10 table, r11 out,
 * r12 groups left, lr pixels left. Requantized lanes are narrowed with saturation to int16 before
 * the output offset (saturating) and the clamp, which cannot change a result inside int8; the
 * constants sit on the stack as int16 vectors. */
void tf_dw9_mve(const int8_t *const *taps, int8_t *out, int32_t pixels, const tf_dw9_args *args);
#define TF_DW9_TAP(r)                                                                            \
    "    vldrb.8 q4, [" r "], #16\n"                                                            \
    "    vldrb.8 q5, [r9], #16\n"                                                               \
    "    vmullb.s8 q6, q4, q5\n"                                                                \
    "    vmullt.s8 q7, q4, q5\n"                                                                \
    "    vmovlb.s16 q4, q6\n"                                                                   \
    "    vmovlt.s16 q6, q6\n"                                                                   \
    "    vadd.i32 q0, q0, q4\n"                                                                 \
    "    vadd.i32 q1, q1, q6\n"                                                                 \
    "    vmovlb.s16 q4, q7\n"                                                                   \
    "    vmovlt.s16 q7, q7\n"                                                                   \
    "    vadd.i32 q2, q2, q4\n"                                                                 \
    "    vadd.i32 q3, q3, q7\n"
#define TF_DW9_REQUANT(q)                                                                        \
    "    vldrw.32 q4, [r10], #16\n"                                                             \
    "    vand q5, " q ", q4\n"                                                                  \
    "    vshr.s32 q5, q5, #31\n"                                                                \
    "    vqadd.s32 " q ", " q ", q5\n"                                                          \
    "    vrshl.s32 " q ", " q ", q4\n"
__asm__(
    "    .section .text.tf_dw9_mve,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_dw9_mve, %function\n"
    "tf_dw9_mve:\n"
    "    push {r4-r11, lr}\n"
    "    vpush {d8-d15}\n"
    "    sub sp, sp, #64\n"
    "    ldr r4, [r3, #16]\n"
    "    vdup.16 q0, r4\n"
    "    vstrw.32 q0, [sp, #16]\n"   /* output offset */
    "    ldr r4, [r3, #20]\n"
    "    vdup.16 q0, r4\n"
    "    vstrw.32 q0, [sp, #32]\n"   /* minimum */
    "    ldr r4, [r3, #24]\n"
    "    vdup.16 q0, r4\n"
    "    vstrw.32 q0, [sp, #48]\n"   /* maximum */
    "    ldrd r4, r5, [r3, #0]\n"    /* filter, table */
    "    ldrd r6, r7, [r3, #8]\n"    /* groups, tap step */
    "    strd r4, r5, [sp, #0]\n"
    "    strd r6, r7, [sp, #8]\n"
    "    mov r11, r1\n"
    "    mov lr, r2\n"
    "    ldm r0, {r0-r8}\n"
    "1:\n"
    "    ldrd r9, r10, [sp, #0]\n"
    "    ldr r12, [sp, #8]\n"
    "2:\n"
    "    vldrw.32 q0, [r10], #16\n"  /* bias */
    "    vldrw.32 q1, [r10], #16\n"
    "    vldrw.32 q2, [r10], #16\n"
    "    vldrw.32 q3, [r10], #16\n"
    TF_DW9_TAP("r0") TF_DW9_TAP("r1") TF_DW9_TAP("r2")
    TF_DW9_TAP("r3") TF_DW9_TAP("r4") TF_DW9_TAP("r5")
    TF_DW9_TAP("r6") TF_DW9_TAP("r7") TF_DW9_TAP("r8")
    "    vldrw.32 q4, [r10], #16\n"  /* multipliers */
    "    vqrdmulh.s32 q0, q0, q4\n"
    "    vldrw.32 q4, [r10], #16\n"
    "    vqrdmulh.s32 q1, q1, q4\n"
    "    vldrw.32 q4, [r10], #16\n"
    "    vqrdmulh.s32 q2, q2, q4\n"
    "    vldrw.32 q4, [r10], #16\n"
    "    vqrdmulh.s32 q3, q3, q4\n"
    TF_DW9_REQUANT("q0") TF_DW9_REQUANT("q1") TF_DW9_REQUANT("q2") TF_DW9_REQUANT("q3")
    "    vqmovnb.s32 q4, q0\n"       /* even channels as int16, in order */
    "    vqmovnt.s32 q4, q1\n"
    "    vqmovnb.s32 q5, q2\n"       /* odd channels */
    "    vqmovnt.s32 q5, q3\n"
    "    vldrw.32 q6, [sp, #16]\n"
    "    vqadd.s16 q4, q4, q6\n"
    "    vqadd.s16 q5, q5, q6\n"
    "    vldrw.32 q6, [sp, #32]\n"
    "    vmax.s16 q4, q4, q6\n"
    "    vmax.s16 q5, q5, q6\n"
    "    vldrw.32 q6, [sp, #48]\n"
    "    vmin.s16 q4, q4, q6\n"
    "    vmin.s16 q5, q5, q6\n"
    "    vmovnt.i16 q4, q5\n"        /* bytes: channels c, c + 1, ..., c + 15 */
    "    vstrb.8 q4, [r11], #16\n"
    "    subs r12, r12, #1\n"
    "    bne 2b\n"
    "    ldr r12, [sp, #12]\n"
    "    cmp r12, #0\n"
    "    beq 3f\n"
    "    add r0, r0, r12\n"
    "    add r1, r1, r12\n"
    "    add r2, r2, r12\n"
    "    add r3, r3, r12\n"
    "    add r4, r4, r12\n"
    "    add r5, r5, r12\n"
    "    add r6, r6, r12\n"
    "    add r7, r7, r12\n"
    "    add r8, r8, r12\n"
    "3:\n"
    "    subs lr, lr, #1\n"
    "    bne 1b\n"
    "    add sp, sp, #64\n"
    "    vpop {d8-d15}\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_dw9_mve, . - tf_dw9_mve\n"
    "    .text\n");
#else
static inline void tf_dw9_mve(const int8_t *const *taps, int8_t *out, int32_t pixels, const tf_dw9_args *args) {
    const int8_t *tp[9];
    for (int t = 0; t < 9; ++t) tp[t] = taps[t];
    for (int32_t px = 0; px < pixels; ++px) {
        const int8_t *w = args->filter;
        const int32_t *qp = args->qp;
        for (int32_t g = 0; g < args->groups; ++g, qp += 48, w += 9 * 16, out += 16) {
            for (int j = 0; j < 16; ++j) {
                const int slot = tf_dw_slot(j);
                int32_t acc = qp[slot];
                for (int t = 0; t < 9; ++t) acc += tp[t][j] * w[16 * t + j];
                const int32_t q = tf_requantize(acc, qp[16 + slot], qp[32 + slot]);
                out[j] = tf_clamp_s8(q + args->output_offset, args->act_min, args->act_max);
            }
            for (int t = 0; t < 9; ++t) tp[t] += 16;
        }
        if (px + 1 < pixels) {
            for (int t = 0; t < 9; ++t) tp[t] += args->tap_step;
        }
    }
}
#endif

/* Lanes [0, n) (1 <= n <= 16) of the group at lane offset c of one output pixel: taps[t] + c is
 * tap t's input, w the group's filter, qp its table (left: its left shifts or NULL). */
static inline void tf_depthwise_group_mve(const tf_depthwise_conv_s8_mve_params *p, const int8_t *const *tap, int taps, int c, int n,
                                          const int8_t *w, const int32_t *qp, const int32_t *left, int8_t *out) {
#if TF_HAVE_MVE
    const mve_pred16_t valid = vctp8q((uint32_t)n);
    int32x4_t a0 = vldrwq_s32(qp), a1 = vldrwq_s32(qp + 4), a2 = vldrwq_s32(qp + 8), a3 = vldrwq_s32(qp + 12);
    for (int t = 0; t < taps; ++t, w += 16) {
        /* Lanes past n read nothing (the zeroing load), so nothing past the pixel's end is touched. */
        const int8x16_t x = n == 16 ? vldrbq_s8(tap[t] + c) : vldrbq_z_s8(tap[t] + c, valid), k = vldrbq_s8(w);
        const int16x8_t even = vmullbq_int_s8(x, k), odd = vmulltq_int_s8(x, k);
        a0 = vaddq_s32(a0, vmovlbq_s16(even));
        a1 = vaddq_s32(a1, vmovltq_s16(even));
        a2 = vaddq_s32(a2, vmovlbq_s16(odd));
        a3 = vaddq_s32(a3, vmovltq_s16(odd));
    }
    if (left) {
        a0 = vshlq_s32(a0, vldrwq_s32(left));
        a1 = vshlq_s32(a1, vldrwq_s32(left + 4));
        a2 = vshlq_s32(a2, vldrwq_s32(left + 8));
        a3 = vshlq_s32(a3, vldrwq_s32(left + 12));
    }
    a0 = tf_mve_requantize(a0, vldrwq_s32(qp + 16), vldrwq_s32(qp + 32));
    a1 = tf_mve_requantize(a1, vldrwq_s32(qp + 20), vldrwq_s32(qp + 36));
    a2 = tf_mve_requantize(a2, vldrwq_s32(qp + 24), vldrwq_s32(qp + 40));
    a3 = tf_mve_requantize(a3, vldrwq_s32(qp + 28), vldrwq_s32(qp + 44));
    int16x8_t even = vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), a0), a1);
    int16x8_t odd = vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), a2), a3);
    const int16x8_t offset = vdupq_n_s16((int16_t)p->output_offset);
    const int16x8_t lo = vdupq_n_s16((int16_t)p->act_min), hi = vdupq_n_s16((int16_t)p->act_max);
    even = vminq_s16(vmaxq_s16(vqaddq_s16(even, offset), lo), hi);
    odd = vminq_s16(vmaxq_s16(vqaddq_s16(odd, offset), lo), hi);
    vstrbq_p_s8(out + c, vmovntq_s16(vreinterpretq_s8_s16(even), odd), valid);
#else
    for (int j = 0; j < n; ++j) {
        const int slot = tf_dw_slot(j);
        int32_t acc = qp[slot];
        for (int t = 0; t < taps; ++t) acc += tap[t][c + j] * w[16 * t + j];
        const int32_t shift = (left ? left[slot] : 0) + qp[32 + slot];
        out[c + j] = tf_clamp_s8(tf_requantize(acc, qp[16 + slot], shift) + p->output_offset, p->act_min, p->act_max);
    }
#endif
}

/* Tap pointers of output pixel (oy, ox); taps outside the image read pad_row. */
static inline void tf_depthwise_taps_mve(const tf_depthwise_conv_s8_mve_params *p, const int8_t *input, const int8_t *pad_row, int oy,
                                         int ox, const int8_t **tap) {
    const int y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    int t = 0;
    for (int ky = 0; ky < p->k_h; ++ky) {
        const int iy = y0 + ky * p->dilation_h;
        for (int kx = 0; kx < p->k_w; ++kx, ++t) {
            const int ix = x0 + kx * p->dilation_w;
            tap[t] = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w ? input + (iy * p->in_w + ix) * p->channels : pad_row;
        }
    }
}

/* One output pixel through tf_depthwise_group_mve (the lanes of group g are channels 16g.. of
 * this pixel; a packed layout's group 0 lanes 0..channels-1 are its channels). */
static void tf_depthwise_pixel_mve(const tf_depthwise_conv_s8_mve_params *p, const int8_t *const *tap, int8_t *out) {
    const int C = p->channels, taps = p->k_h * p->k_w;
    for (int c = 0, g = 0; c < C; c += 16, ++g) {
        tf_depthwise_group_mve(p, tap, taps, c, C - c < 16 ? C - c : 16, p->filter + g * taps * 16, p->qp + g * 48,
                               p->left ? p->left + g * 16 : NULL, out);
    }
}

/* scratch: a row of zero points (channels * pack rounded up to 16), then k_h * k_w tap pointers. */
static void tf_depthwise_conv_s8_mve(const tf_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int C = p->channels, pack = p->pack;
    const int lanes = (C * pack + 15) & ~15;
    int8_t *pad_row = (int8_t *)scratch;
    const int8_t **tap = (const int8_t **)((uint8_t *)scratch + lanes);
    memset(pad_row, (int8_t)p->pad_value, (size_t)lanes);
    /* Nine taps, whatever their arrangement: tf_dw9_mve reads tap pointers (see the top). */
    const int fast = p->k_h * p->k_w == 9 && !p->left && (C * pack) % 16 == 0;
    const tf_dw9_args args = {p->filter, p->qp, lanes / 16, C * (p->stride_w - 1), p->output_offset, p->act_min, p->act_max};
    /* Output columns whose taps all lie inside the image columns: [ox_lo, ox_hi). */
    const int span_h = (p->k_h - 1) * p->dilation_h, span_w = (p->k_w - 1) * p->dilation_w;
    int ox_lo = 0, ox_hi = p->out_w;
    while (ox_lo < p->out_w && ox_lo * p->stride_w - p->pad_left < 0) ++ox_lo;
    while (ox_hi > ox_lo && (ox_hi - 1) * p->stride_w - p->pad_left + span_w >= p->in_w) --ox_hi;
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        int8_t *row = output + oy * p->out_w * C;
        int ox = 0;
        if (fast && y0 >= 0 && y0 + span_h < p->in_h) {
            /* Border pixels one by one, the interior run in one call (pack pixels per step). */
            for (; ox < ox_lo; ++ox) {
                tf_depthwise_taps_mve(p, input, pad_row, oy, ox, tap);
                if (pack == 1) tf_dw9_mve(tap, row + ox * C, 1, &args);
                else tf_depthwise_pixel_mve(p, tap, row + ox * C);
            }
            const int steps = (ox_hi - ox_lo) / pack;
            if (steps > 0) {
                tf_depthwise_taps_mve(p, input, pad_row, oy, ox_lo, tap);
                tf_dw9_mve(tap, row + ox_lo * C, steps, &args);
            }
            ox = ox_lo + steps * pack;
        }
        for (; ox < p->out_w; ++ox) {
            tf_depthwise_taps_mve(p, input, pad_row, oy, ox, tap);
            if (fast && pack == 1) tf_dw9_mve(tap, row + ox * C, 1, &args);
            else tf_depthwise_pixel_mve(p, tap, row + ox * C);
        }
    }
}
