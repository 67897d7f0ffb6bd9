/* tinyforge portable kernel: an 8-bit tensor through a 256-entry int16 table indexed by the raw
 * input byte (int8 -> int16 QUANTIZE). */
#include "tf_quant.h"

typedef struct {
    int32_t size;
    const int16_t *table;
} tf_lut8_s16_params;

static void tf_lut8_s16(const tf_lut8_s16_params *p, const void *input, int16_t *output) {
    const uint8_t *in = (const uint8_t *)input;
    for (int32_t i = 0; i < p->size; ++i) output[i] = p->table[in[i]];
}
