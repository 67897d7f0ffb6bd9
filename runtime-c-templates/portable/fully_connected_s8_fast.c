/* tinyforge kernel: int8 fully connected with the input offset folded into the bias at compile
 * time and filter rows padded to a multiple of 4; two output rows share each input load. */
#include "tf_simd.h"

typedef struct {
    int32_t batches, accum_depth, k4, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max, requant;
    const int8_t *filter; /* [out_depth][k4] */
    const int32_t *bias;  /* [out_depth], offset folded */
} tf_fully_connected_s8_fast_params;

static inline int8_t tf_fc_output(const tf_fully_connected_s8_fast_params *p, int32_t acc) {
    const int32_t q = tf_requantize_mode((int)p->requant, acc, p->multiplier, p->shift);
    return tf_clamp_s8(q + p->output_offset, p->act_min, p->act_max);
}

static void tf_fully_connected_s8_fast(const tf_fully_connected_s8_fast_params *p, const int8_t *input, int8_t *output) {
    const int32_t k4 = p->k4, depth = p->accum_depth;
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->out_depth;
        int o = 0;
        for (; o + 1 < p->out_depth; o += 2) {
            const int8_t *w0 = p->filter + o * k4;
            const int8_t *w1 = w0 + k4;
            int32_t a0 = p->bias[o], a1 = p->bias[o + 1];
            int32_t k = 0;
#if TF_HAVE_DSP
            for (; k + 4 <= depth; k += 4) {
                const uint32_t x = tf_read_u32(in + k);
                const int32_t xl = tf_sxtb16(x), xh = tf_sxtb16_ror8(x);
                const uint32_t f0 = tf_read_u32(w0 + k), f1 = tf_read_u32(w1 + k);
                a0 = tf_smlad(xl, tf_sxtb16(f0), a0);
                a0 = tf_smlad(xh, tf_sxtb16_ror8(f0), a0);
                a1 = tf_smlad(xl, tf_sxtb16(f1), a1);
                a1 = tf_smlad(xh, tf_sxtb16_ror8(f1), a1);
            }
#endif
            for (; k < depth; ++k) {
                a0 += in[k] * w0[k];
                a1 += in[k] * w1[k];
            }
            out[o] = tf_fc_output(p, a0);
            out[o + 1] = tf_fc_output(p, a1);
        }
        if (o < p->out_depth) {
            const int8_t *w0 = p->filter + o * k4;
            int32_t a0 = p->bias[o];
            for (int32_t k = 0; k < depth; ++k) a0 += in[k] * w0[k];
            out[o] = tf_fc_output(p, a0);
        }
    }
}
