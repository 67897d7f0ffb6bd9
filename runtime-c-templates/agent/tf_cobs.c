/* Consistent Overhead Byte Stuffing with 0x00 as the delimiter (see tf_protocol.h). */
#include <stdint.h>

#include "tf_protocol.h"

uint32_t tf_cobs_encode(const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t dst_cap) {
  uint32_t code_pos = 0; /* where the code byte of the open block goes */
  uint32_t w = 1;        /* next free byte of dst */
  uint32_t i;
  uint8_t code = 1; /* 1 + number of data bytes in the open block */
  int block_open = 1;
  if (dst_cap < 1u) {
    return 0;
  }
  for (i = 0; i < n; i++) {
    uint8_t b = src[i];
    if (b == 0u) {
      dst[code_pos] = code;
      if (w >= dst_cap) {
        return 0;
      }
      code_pos = w++;
      code = 1;
      continue;
    }
    if (w >= dst_cap) {
      return 0;
    }
    dst[w++] = b;
    code++;
    if (code == 0xFFu) {
      /* 254 data bytes: close the block. A new one opens only if more input follows. */
      dst[code_pos] = code;
      code = 1;
      if (i + 1u < n) {
        if (w >= dst_cap) {
          return 0;
        }
        code_pos = w++;
      } else {
        block_open = 0;
      }
    }
  }
  if (block_open) {
    dst[code_pos] = code;
  }
  return w;
}

int32_t tf_cobs_decode(const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t dst_cap) {
  uint32_t r = 0;
  uint32_t w = 0;
  while (r < n) {
    uint32_t code = src[r++];
    uint32_t k;
    if (code == 0u) {
      return -1;
    }
    if (code - 1u > n - r || code - 1u > dst_cap - w) {
      return -1;
    }
    for (k = 1u; k < code; k++) {
      uint8_t b = src[r++];
      if (b == 0u) {
        return -1;
      }
      dst[w++] = b;
    }
    /* A block shorter than 254 bytes stands for its data plus a zero, except at the very end. */
    if (code != 0xFFu && r < n) {
      if (w >= dst_cap) {
        return -1;
      }
      dst[w++] = 0u;
    }
  }
  return (int32_t)w;
}
