/* Host implementation of runner_io.h: plain stdio on ./tf_in.bin and ./tf_out.bin. */
#include <stdio.h>
#include <stdlib.h>

#include "runner_io.h"

static FILE *tf_in_file;
static FILE *tf_out_file;

int tf_io_open(void) {
  tf_in_file = fopen("tf_in.bin", "rb");
  if (tf_in_file == NULL) {
    return -1;
  }
  tf_out_file = fopen("tf_out.bin", "wb");
  if (tf_out_file == NULL) {
    fclose(tf_in_file);
    tf_in_file = NULL;
    return -1;
  }
  return 0;
}

long tf_io_read(void *buf, unsigned long n) {
  size_t got;
  if (tf_in_file == NULL) {
    return -1;
  }
  if (n == 0) {
    return 0;
  }
  got = fread(buf, 1, (size_t)n, tf_in_file);
  if (got < (size_t)n && ferror(tf_in_file)) {
    return -1;
  }
  return (long)got;
}

int tf_io_write(const void *buf, unsigned long n) {
  if (tf_out_file == NULL) {
    return -1;
  }
  if (n == 0) {
    return 0;
  }
  return fwrite(buf, 1, (size_t)n, tf_out_file) == (size_t)n ? 0 : -1;
}

void tf_io_exit(int code) {
  if (tf_in_file != NULL) {
    fclose(tf_in_file);
    tf_in_file = NULL;
  }
  if (tf_out_file != NULL) {
    /* A failed flush loses output: report it unless a more specific error is already set. */
    if (fclose(tf_out_file) != 0 && code == 0) {
      code = 3;
    }
    tf_out_file = NULL;
  }
  exit(code);
}
