/* tinyforge kernel: int8 fully connected in the Helium layout. Compile-time preparation folds the
 * input offset into the bias, pads each row with zeros to k16 (a multiple of 16) and the rows to a
 * multiple of 4, and interleaves groups of four rows in 16-byte steps, so one input load serves
 * four VMLADAVA (tf_mve_gemm_4x1; two batches share each filter load in tf_mve_gemm_4x2). */
#include "tf_mve.h"

typedef struct {
    int32_t batches, accum_depth, k16, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max;
    const int8_t *filter; /* [(out_depth + 3) / 4][k16 / 16][4][16] */
    const int32_t *bias;  /* [out_depth rounded up to 4], offset folded */
} tf_fully_connected_s8_mve_params;

/* Output rows per GEMM call: the accumulators of a chunk live in scratch. */
#define TF_FC_MVE_CHUNK_GROUPS 16

/* scratch: 2 * 4 * min(groups, 16) int32 accumulators, then (only when accum_depth is not a
 * multiple of 16) one or two int8 rows of k16: the inputs zero-padded. */
static void tf_fully_connected_s8_mve(const tf_fully_connected_s8_mve_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t depth = p->accum_depth, k16 = p->k16, out_depth = p->out_depth, groups = (out_depth + 3) / 4, steps = k16 / 16;
    const int32_t chunk = groups < TF_FC_MVE_CHUNK_GROUPS ? groups : TF_FC_MVE_CHUNK_GROUPS;
    int32_t *acc = (int32_t *)scratch;
    int8_t *row0 = (int8_t *)(acc + 8 * chunk);
    int8_t *row1 = row0 + k16;
    for (int32_t b = 0; b < p->batches; b += 2) {
        const int pair = b + 1 < p->batches;
        const int8_t *x0 = input + b * depth, *x1 = x0 + depth;
        if (depth != k16) {
            tf_mve_copy_padded(row0, x0, depth, k16);
            x0 = row0;
            if (pair) {
                tf_mve_copy_padded(row1, x1, depth, k16);
                x1 = row1;
            }
        }
        int8_t *out = output + b * out_depth;
        for (int32_t g = 0; g < groups; g += chunk) {
            const int32_t n = groups - g < chunk ? groups - g : chunk;
            const int8_t *filter = p->filter + g * 4 * k16;
            const int32_t rows = 4 * (g + n) <= out_depth ? 4 * n : out_depth - 4 * g;
            if (pair) {
                tf_mve_gemm_4x2(x0, x1, filter, steps, n, p->bias + 4 * g, acc);
            } else {
                tf_mve_gemm_4x1(x0, filter, steps, n, p->bias + 4 * g, acc);
            }
            tf_mve_requantize_row_tensor(acc, rows, p->multiplier, p->shift, out + 4 * g, p->output_offset, p->act_min, p->act_max);
            if (pair) {
                tf_mve_requantize_row_tensor(acc + 4 * n, rows, p->multiplier, p->shift, out + out_depth + 4 * g, p->output_offset, p->act_min,
                                             p->act_max);
            }
        }
    }
}
