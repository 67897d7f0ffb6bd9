/* Cortex-M implementation of runner_io.h over ARM semihosting (BKPT 0xAB).
 *
 * Run under QEMU with `-semihosting-config enable=on,target=native`: the relative names below
 * resolve against QEMU's working directory. No stdio, no heap. */
#include <stdint.h>

#include "runner_io.h"

#define TF_SYS_OPEN 0x01u
#define TF_SYS_CLOSE 0x02u
#define TF_SYS_WRITE 0x05u
#define TF_SYS_READ 0x06u
#define TF_SYS_EXIT_EXTENDED 0x20u
#define TF_ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* Semihosting open modes (ISO C fopen equivalents). */
#define TF_OPEN_MODE_RB 1u
#define TF_OPEN_MODE_WB 5u

static long tf_semihost(uint32_t op, const void *arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return (long)(int32_t)r0;
}

static const char tf_in_name[] = "tf_in.bin";
static const char tf_out_name[] = "tf_out.bin";

static long tf_in_handle = -1;
static long tf_out_handle = -1;

static long tf_open(const char *name, uint32_t len, uint32_t mode) {
  uint32_t args[3];
  args[0] = (uint32_t)(uintptr_t)name;
  args[1] = mode;
  args[2] = len;
  return tf_semihost(TF_SYS_OPEN, args);
}

static void tf_close(long handle) {
  uint32_t args[1];
  args[0] = (uint32_t)handle;
  (void)tf_semihost(TF_SYS_CLOSE, args);
}

int tf_io_open(void) {
  tf_in_handle = tf_open(tf_in_name, (uint32_t)(sizeof tf_in_name - 1), TF_OPEN_MODE_RB);
  if (tf_in_handle < 0) {
    return -1;
  }
  tf_out_handle = tf_open(tf_out_name, (uint32_t)(sizeof tf_out_name - 1), TF_OPEN_MODE_WB);
  if (tf_out_handle < 0) {
    tf_close(tf_in_handle);
    tf_in_handle = -1;
    return -1;
  }
  return 0;
}

long tf_io_read(void *buf, unsigned long n) {
  unsigned char *p = (unsigned char *)buf;
  unsigned long done = 0;
  if (tf_in_handle < 0) {
    return -1;
  }
  while (done < n) {
    uint32_t args[3];
    unsigned long want = n - done;
    long not_read;
    args[0] = (uint32_t)tf_in_handle;
    args[1] = (uint32_t)(uintptr_t)(p + done);
    args[2] = (uint32_t)want;
    /* SYS_READ returns the number of bytes NOT read: 0 = all read, want = end of file. */
    not_read = tf_semihost(TF_SYS_READ, args);
    if (not_read < 0 || (unsigned long)not_read > want) {
      return -1;
    }
    if ((unsigned long)not_read == want) {
      break;
    }
    done += want - (unsigned long)not_read;
  }
  return (long)done;
}

int tf_io_write(const void *buf, unsigned long n) {
  const unsigned char *p = (const unsigned char *)buf;
  unsigned long done = 0;
  if (tf_out_handle < 0) {
    return -1;
  }
  while (done < n) {
    uint32_t args[3];
    unsigned long want = n - done;
    long not_written;
    args[0] = (uint32_t)tf_out_handle;
    args[1] = (uint32_t)(uintptr_t)(p + done);
    args[2] = (uint32_t)want;
    /* SYS_WRITE returns the number of bytes NOT written. */
    not_written = tf_semihost(TF_SYS_WRITE, args);
    if (not_written < 0 || (unsigned long)not_written >= want) {
      return -1;
    }
    done += want - (unsigned long)not_written;
  }
  return 0;
}

void tf_io_exit(int code) {
  uint32_t block[2];
  if (tf_in_handle >= 0) {
    tf_close(tf_in_handle);
    tf_in_handle = -1;
  }
  if (tf_out_handle >= 0) {
    tf_close(tf_out_handle);
    tf_out_handle = -1;
  }
  block[0] = TF_ADP_STOPPED_APPLICATION_EXIT;
  block[1] = (uint32_t)code;
  (void)tf_semihost(TF_SYS_EXIT_EXTENDED, block);
  for (;;) {
    /* Not reached under QEMU; on a debugger-less board there is nowhere to go. */
  }
}
