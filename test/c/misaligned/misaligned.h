#ifndef MISALIGNED_H
#define MISALIGNED_H
#include <stdint.h>
void misaligned_reset(void);
int misaligned_invoke(const int8_t *input0, int8_t *output0);
#endif
