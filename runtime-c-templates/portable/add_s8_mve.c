/* tinyforge kernel: int8 element-wise add (TFLite Add) four elements per step on Helium, with the
 * exact vector requantization of tf_mve.h for all three rescalings, so it needs no bound on the
 * intermediates. Elsewhere it is tf_add_s8. Same parameter block as tf_add_s8. */
#include "add_s8.c"
#include "tf_mve.h"

#if TF_HAVE_MVE
/* TFLite's (x + offset) << left_shift, then MultiplyByQuantizedMultiplier(., m, shift): a positive
 * shift is one more left shift, which composes with the first (both wrap like TFLite's int32). */
static inline int32x4_t tf_add_rescale_mve(int32x4_t x, int32_t offset, int32_t left, int32_t multiplier, int32x4_t right) {
    return tf_mve_requantize(vshlq_r_s32(vaddq_n_s32(x, offset), left), vdupq_n_s32(multiplier), right);
}
#endif

static void tf_add_s8_mve(const tf_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
#if TF_HAVE_MVE
    (void)tf_add_s8;
    const int32_t n = p->size, off1 = p->input1_offset, off2 = p->input2_offset, out_off = p->output_offset;
    const int32_t m1 = p->input1_multiplier, m2 = p->input2_multiplier, mo = p->output_multiplier;
    const int32_t l1 = p->left_shift + (p->input1_shift > 0 ? p->input1_shift : 0);
    const int32_t l2 = p->left_shift + (p->input2_shift > 0 ? p->input2_shift : 0);
    const int32_t lo_shift = p->output_shift > 0 ? p->output_shift : 0;
    const int32x4_t r1 = vdupq_n_s32(p->input1_shift < 0 ? p->input1_shift : 0);
    const int32x4_t r2 = vdupq_n_s32(p->input2_shift < 0 ? p->input2_shift : 0);
    const int32x4_t ro = vdupq_n_s32(p->output_shift < 0 ? p->output_shift : 0);
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32x4_t a = tf_add_rescale_mve(vldrbq_s32(input1 + i), off1, l1, m1, r1);
        const int32x4_t b = tf_add_rescale_mve(vldrbq_s32(input2 + i), off2, l2, m2, r2);
        const int32x4_t s = tf_mve_requantize(vshlq_r_s32(vaddq_s32(a, b), lo_shift), vdupq_n_s32(mo), ro);
        vstrbq_s32(output + i, vminq_s32(vmaxq_s32(vaddq_n_s32(s, out_off), lo), hi));
    }
    if (i < n) {
        const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
        const int32x4_t a = tf_add_rescale_mve(vldrbq_z_s32(input1 + i, pr), off1, l1, m1, r1);
        const int32x4_t b = tf_add_rescale_mve(vldrbq_z_s32(input2 + i, pr), off2, l2, m2, r2);
        const int32x4_t s = tf_mve_requantize(vshlq_r_s32(vaddq_s32(a, b), lo_shift), vdupq_n_s32(mo), ro);
        vstrbq_p_s32(output + i, vminq_s32(vmaxq_s32(vaddq_n_s32(s, out_off), lo), hi), pr);
    }
#else
    tf_add_s8(p, input1, input2, output);
#endif
}
