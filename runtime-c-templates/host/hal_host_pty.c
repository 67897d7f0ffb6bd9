/* Host (Linux) implementation of agent/tf_hal.h, so the agent can be tested over a pseudo-terminal.
 *
 * Line: the path in TF_AGENT_TTY, opened read-write and put in raw mode (termios). Without it the
 * agent reads stdin and writes stdout. TF_AGENT_TTY_FD (set by a simulated reset, see below) names
 * an already open descriptor instead. When the line closes or fails the process exits with
 * status 0 (EOF) or 74 (error).
 * Counter: CLOCK_MONOTONIC nanoseconds ("host-monotonic-ns", 1 cycle per tick).
 * Stack: the 256 KiB of the main thread's stack below tf_hal_init's frame (not available under
 * AddressSanitizer, whose redzones make painting meaningless: the agent then reports 0).
 *
 * Fault injection for protocol tests, TF_AGENT_FAULT=<kind>[:<arg>]:
 *   drop-reply-once[:type]      do not send the first frame of that type (default: any frame but BOOT)
 *   flip-reply-bit-once[:type]  flip one bit in the middle of that frame
 *   reset-after-n-frames:n      when the n-th non-empty frame has been received, and before it is
 *                               handled, restart the program (execv of /proc/self/exe, keeping
 *                               the line open): the agent boots again and sends BOOT.
 * A fault fires once; the restarted program runs without it. Each fault is logged to stderr. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tf_hal.h"

#if defined(__SANITIZE_ADDRESS__)
#define TF_HOST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TF_HOST_ASAN 1
#endif
#endif

#define TF_HOST_STACK_BYTES (256u * 1024u)
#define TF_MSG_BOOT_TYPE 0xFEu

enum tf_fault_kind { TF_FAULT_NONE, TF_FAULT_DROP, TF_FAULT_FLIP, TF_FAULT_RESET };

static int tf_in_fd = 0;
static int tf_out_fd = 1;
static uint8_t tf_rbuf[256];
static size_t tf_rlen;
static size_t tf_rpos;

static enum tf_fault_kind tf_fault = TF_FAULT_NONE;
static long tf_fault_arg = -1; /* frame type for drop/flip (-1: any but BOOT), n for reset */
static long tf_frames_received;
static int tf_in_frame;
static uint8_t tf_flip_buf[4096];

static uintptr_t tf_stack_hi;

static void tf_host_die(const char *what) {
  fprintf(stderr, "hal_host_pty: %s: %s\n", what, strerror(errno));
  exit(74);
}

static void tf_host_raw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) {
    return; /* not a terminal (pipe, file): nothing to set */
  }
  t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
  t.c_oflag &= ~(tcflag_t)OPOST;
  t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
  t.c_cflag |= (tcflag_t)(CS8 | CREAD | CLOCAL);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(fd, TCSANOW, &t) != 0) {
    tf_host_die("tcsetattr");
  }
}

static void tf_host_parse_fault(void) {
  const char *f = getenv("TF_AGENT_FAULT");
  const char *colon;
  size_t kind_len;
  if (f == NULL || f[0] == '\0') {
    return;
  }
  colon = strchr(f, ':');
  kind_len = colon != NULL ? (size_t)(colon - f) : strlen(f);
  if (kind_len == strlen("drop-reply-once") && strncmp(f, "drop-reply-once", kind_len) == 0) {
    tf_fault = TF_FAULT_DROP;
  } else if (kind_len == strlen("flip-reply-bit-once") && strncmp(f, "flip-reply-bit-once", kind_len) == 0) {
    tf_fault = TF_FAULT_FLIP;
  } else if (kind_len == strlen("reset-after-n-frames") && strncmp(f, "reset-after-n-frames", kind_len) == 0) {
    tf_fault = TF_FAULT_RESET;
  } else {
    fprintf(stderr, "hal_host_pty: unknown TF_AGENT_FAULT %s\n", f);
    exit(64);
  }
  if (colon != NULL) {
    char *end = NULL;
    tf_fault_arg = strtol(colon + 1, &end, 0);
    if (end == colon + 1 || *end != '\0' || tf_fault_arg < 0) {
      fprintf(stderr, "hal_host_pty: bad argument in TF_AGENT_FAULT %s\n", f);
      exit(64);
    }
  } else if (tf_fault == TF_FAULT_RESET) {
    fprintf(stderr, "hal_host_pty: reset-after-n-frames needs :n\n");
    exit(64);
  }
}

void tf_hal_init(void) {
  volatile uint8_t here = 0;
  const char *fd_env = getenv("TF_AGENT_TTY_FD");
  const char *tty = getenv("TF_AGENT_TTY");
  /* A little above this frame, so main's frame lies below the "top" as on a device. */
  tf_stack_hi = ((uintptr_t)&here + 1024u) & ~(uintptr_t)15u;
  if (fd_env != NULL && fd_env[0] != '\0') {
    tf_in_fd = tf_out_fd = atoi(fd_env);
  } else if (tty != NULL && tty[0] != '\0') {
    int fd = open(tty, O_RDWR | O_NOCTTY);
    if (fd < 0) {
      fprintf(stderr, "hal_host_pty: cannot open %s: %s\n", tty, strerror(errno));
      exit(66);
    }
    tf_in_fd = tf_out_fd = fd;
  }
  tf_host_raw(tf_in_fd);
  tf_host_parse_fault();
}

static void tf_host_reset(void) {
  char fd_text[16];
  fprintf(stderr, "hal_host_pty: fault: reset after %ld received frames\n", tf_frames_received);
  snprintf(fd_text, sizeof fd_text, "%d", tf_in_fd);
  if (setenv("TF_AGENT_TTY_FD", fd_text, 1) != 0 || unsetenv("TF_AGENT_FAULT") != 0) {
    tf_host_die("setenv");
  }
  execl("/proc/self/exe", "tf_agent_host", (char *)NULL);
  tf_host_die("execl /proc/self/exe");
}

uint8_t tf_hal_uart_getc(void) {
  uint8_t b;
  while (tf_rpos == tf_rlen) {
    ssize_t got = read(tf_in_fd, tf_rbuf, sizeof tf_rbuf);
    if (got > 0) {
      tf_rlen = (size_t)got;
      tf_rpos = 0;
    } else if (got == 0 || errno == EIO) {
      exit(0); /* the other end closed the line */
    } else if (errno != EINTR && errno != EAGAIN) {
      tf_host_die("read");
    }
  }
  b = tf_rbuf[tf_rpos++];
  if (b != 0u) {
    tf_in_frame = 1;
  } else if (tf_in_frame) {
    tf_in_frame = 0;
    tf_frames_received++;
    if (tf_fault == TF_FAULT_RESET && tf_frames_received == tf_fault_arg) {
      tf_host_reset();
    }
  }
  return b;
}

static void tf_host_write_all(const uint8_t *data, size_t n) {
  while (n > 0u) {
    ssize_t put = write(tf_out_fd, data, n);
    if (put > 0) {
      data += put;
      n -= (size_t)put;
    } else if (put < 0 && errno != EINTR && errno != EAGAIN) {
      if (errno == EIO) {
        exit(0);
      }
      tf_host_die("write");
    }
  }
}

/* The type of the frame the agent is writing: it writes 0x00, COBS(frame), 0x00 in one call, and
 * the first COBS block starts with the non-zero version and type bytes. */
static long tf_host_frame_type(const uint8_t *data, uint32_t n) {
  if (n >= 4u && data[0] == 0u && data[1] >= 3u) {
    return data[3];
  }
  return -1;
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
  if (tf_fault == TF_FAULT_DROP || tf_fault == TF_FAULT_FLIP) {
    long type = tf_host_frame_type(data, n);
    int match = tf_fault_arg < 0 ? (type >= 0 && type != (long)TF_MSG_BOOT_TYPE) : type == tf_fault_arg;
    if (match && tf_fault == TF_FAULT_DROP) {
      fprintf(stderr, "hal_host_pty: fault: dropped a frame of type 0x%02lx\n", (unsigned long)type);
      tf_fault = TF_FAULT_NONE;
      return;
    }
    if (match && n <= sizeof tf_flip_buf && n > 4u) {
      uint32_t at = n / 2u;
      memcpy(tf_flip_buf, data, n);
      /* Flip a bit without creating a 0x00, which would split the frame instead. */
      tf_flip_buf[at] ^= (uint8_t)(tf_flip_buf[at] == 0x10u ? 0x20u : 0x10u);
      fprintf(stderr, "hal_host_pty: fault: flipped a bit in byte %u of a frame of type 0x%02lx\n", (unsigned)at,
              (unsigned long)type);
      tf_fault = TF_FAULT_NONE;
      tf_host_write_all(tf_flip_buf, n);
      return;
    }
  }
  tf_host_write_all(data, n);
}

uint32_t tf_hal_cycles(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

uint32_t tf_hal_cycles_per_tick(void) {
  return 1u;
}

const char *tf_hal_counter_name(void) {
  return "host-monotonic-ns";
}

uint8_t *tf_hal_stack_lowest(void) {
#ifdef TF_HOST_ASAN
  return NULL;
#else
  return (uint8_t *)(tf_stack_hi - TF_HOST_STACK_BYTES);
#endif
}

uint8_t *tf_hal_stack_top(void) {
#ifdef TF_HOST_ASAN
  return NULL;
#else
  return (uint8_t *)tf_stack_hi;
#endif
}
