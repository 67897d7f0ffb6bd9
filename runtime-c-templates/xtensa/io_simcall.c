/* runner_io.h over Xtensa ISS semihosting (simcall) for the qemu-xtensa-lx106 board, plus the
 * exit and the fault report that startup_sim.S calls.
 *
 * The relative file names resolve against QEMU's working directory. QEMU's exit status is the
 * program's: the runner's own codes (runner_source.ts), 128 + EXCCAUSE after an exception, 125
 * after a double exception. No stdio, no heap. */
#include <stdint.h>

#include "runner_io.h"
#include "tf_xtensa_sim.h"

static long tf_in_fd = -1;
static long tf_out_fd = -1;

static int tf_ptr(const void *p) { return (int)(intptr_t)p; }

int tf_io_open(void) {
  /* O_RDONLY is 0 in every flag encoding. QEMU 7.2 hands the flags to the host's open(), so
   * write-create-truncate is tried in the Linux encoding, then in newlib's (the Xtensa ISS's, and
   * what a QEMU that translates flags expects). QEMU 7.2 does not implement creat(). The run
   * directory is fresh, so a wrong guess fails instead of opening something else. */
  tf_in_fd = tf_simcall(TF_SIMCALL_OPEN, tf_ptr("tf_in.bin"), 0, 0);
  if (tf_in_fd < 0) return -1;
  tf_out_fd = tf_simcall(TF_SIMCALL_OPEN, tf_ptr("tf_out.bin"), TF_O_WRONLY_CREAT_TRUNC_LINUX, 0644);
  if (tf_out_fd < 0) tf_out_fd = tf_simcall(TF_SIMCALL_OPEN, tf_ptr("tf_out.bin"), TF_O_WRONLY_CREAT_TRUNC_NEWLIB, 0644);
  if (tf_out_fd < 0) {
    (void)tf_simcall(TF_SIMCALL_CLOSE, (int)tf_in_fd, 0, 0);
    tf_in_fd = -1;
    return -1;
  }
  return 0;
}

long tf_io_read(void *buf, unsigned long n) {
  unsigned char *p = (unsigned char *)buf;
  unsigned long done = 0;
  if (tf_in_fd < 0) return -1;
  while (done < n) {
    int got = tf_simcall(TF_SIMCALL_READ, (int)tf_in_fd, tf_ptr(p + done), (int)(n - done));
    if (got < 0) return -1;
    if (got == 0) break;
    done += (unsigned long)got;
  }
  return (long)done;
}

int tf_io_write(const void *buf, unsigned long n) {
  const unsigned char *p = (const unsigned char *)buf;
  unsigned long done = 0;
  if (tf_out_fd < 0) return -1;
  while (done < n) {
    int put = tf_simcall(TF_SIMCALL_WRITE, (int)tf_out_fd, tf_ptr(p + done), (int)(n - done));
    if (put <= 0) return -1;
    done += (unsigned long)put;
  }
  return 0;
}

void tf_xtensa_exit(int code) {
  (void)tf_simcall(TF_SIMCALL_EXIT, code, 0, 0);
  for (;;) {
  }
}

void tf_io_exit(int code) {
  if (tf_in_fd >= 0) (void)tf_simcall(TF_SIMCALL_CLOSE, (int)tf_in_fd, 0, 0);
  if (tf_out_fd >= 0) (void)tf_simcall(TF_SIMCALL_CLOSE, (int)tf_out_fd, 0, 0);
  tf_in_fd = tf_out_fd = -1;
  tf_xtensa_exit(code);
}

/* ---- fault report: one line on QEMU's stderr, parsed by compiler/targets/qemu_xtensa.ts ---- */

static char tf_line[96];
static int tf_len;

static void tf_puts(const char *s) {
  while (*s && tf_len < (int)sizeof tf_line) tf_line[tf_len++] = *s++;
}

static void tf_put_dec(uint32_t v) {
  char t[10];
  int n = 0;
  do {
    t[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v);
  while (n && tf_len < (int)sizeof tf_line) tf_line[tf_len++] = t[--n];
}

static void tf_put_hex(uint32_t v) {
  tf_puts("0x");
  for (int i = 28; i >= 0; i -= 4) {
    if (tf_len < (int)sizeof tf_line) tf_line[tf_len++] = "0123456789abcdef"[(v >> i) & 15u];
  }
}

void tf_xtensa_fault(int vector, uint32_t cause, uint32_t epc1, uint32_t vaddr) __attribute__((noreturn));
void tf_xtensa_fault(int vector, uint32_t cause, uint32_t epc1, uint32_t vaddr) {
  tf_len = 0;
  tf_puts("\ntinyforge xtensa fault: vector=");
  tf_put_dec((uint32_t)vector);
  tf_puts(" exccause=");
  tf_put_dec(cause);
  tf_puts(" epc1=");
  tf_put_hex(epc1);
  tf_puts(" excvaddr=");
  tf_put_hex(vaddr);
  tf_puts("\n");
  (void)tf_simcall(TF_SIMCALL_WRITE, 2, tf_ptr(tf_line), tf_len);
  tf_io_exit(128 + (int)(cause & 63u));
  for (;;) {
  }
}
