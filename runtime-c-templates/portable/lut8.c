/* tinyforge portable kernel: an 8-bit tensor (int8 or uint8) through a 256-entry table of output
 * bytes indexed by the raw input byte. Every elementwise int8 op with one input (LOGISTIC, TANH,
 * HARD_SWISH, LEAKY_RELU, RSQRT, uint8 <-> int8 QUANTIZE) compiles to this with its own table. */
#include "tf_quant.h"

typedef struct {
    int32_t size;
    const uint8_t *table;
} tf_lut8_params;

static void tf_lut8(const tf_lut8_params *p, const void *input, void *output) {
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    for (int32_t i = 0; i < p->size; ++i) out[i] = p->table[in[i]];
}
