/* Trap reporting for the tinyforge agent firmware on QEMU's riscv32 `virt` machine; the entry
 * code is in startup_virt.S. No semihosting: the report goes out on the UART of hal_virt.c,
 *
 *   "\r\n*** TF-FAULT <name> pc=0x%08x mcause=0x%08x mtval=0x%08x ***\r\n"
 *
 * (<name>: InstructionMisaligned, InstructionAccessFault, IllegalInstruction, Breakpoint,
 * LoadMisaligned, LoadAccessFault, StoreMisaligned, StoreAccessFault, EnvironmentCall,
 * Exception<n>, Interrupt<n>, or MainReturned with pc = main's return value), then the machine
 * is reset through the HAL: QEMU restarts the firmware, or exits when started with -no-reboot.
 *
 * Board hooks the HAL provides besides tf_hal.h:
 *   void tf_hal_panic_write(const uint8_t *data, uint32_t n);  usable before tf_hal_init()
 *   void tf_hal_panic_flush(void);
 *   void tf_hal_system_reset(void);                            does not return */
#include <stdint.h>

void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);
void tf_hal_system_reset(void) __attribute__((noreturn));
void tf_trap_report(uint32_t mcause, uint32_t mepc, uint32_t mtval) __attribute__((noreturn));

static uint32_t tf_put_str(uint8_t *buf, uint32_t at, const char *s) {
  while (*s != '\0') {
    buf[at++] = (uint8_t)*s++;
  }
  return at;
}

static uint32_t tf_put_hex(uint8_t *buf, uint32_t at, uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  int shift;
  buf[at++] = '0';
  buf[at++] = 'x';
  for (shift = 28; shift >= 0; shift -= 4) {
    buf[at++] = (uint8_t)digits[(v >> (uint32_t)shift) & 0xFu];
  }
  return at;
}

static uint32_t tf_put_dec(uint8_t *buf, uint32_t at, uint32_t v) {
  char tmp[10];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0u);
  while (n > 0) {
    buf[at++] = (uint8_t)tmp[--n];
  }
  return at;
}

static const char *const tf_exception_names[] = {
    "InstructionMisaligned", "InstructionAccessFault", "IllegalInstruction", "Breakpoint",
    "LoadMisaligned",        "LoadAccessFault",        "StoreMisaligned",    "StoreAccessFault",
    "EnvironmentCall",       "EnvironmentCall",        "Exception10",        "EnvironmentCall",
};

void tf_trap_report(uint32_t mcause, uint32_t mepc, uint32_t mtval) {
  uint8_t msg[128];
  uint32_t n = 0;

  n = tf_put_str(msg, n, "\r\n*** TF-FAULT ");
  if (mcause == 0xFFFFFFFFu) {
    n = tf_put_str(msg, n, "MainReturned");
  } else if ((mcause & 0x80000000u) != 0u) {
    n = tf_put_str(msg, n, "Interrupt");
    n = tf_put_dec(msg, n, mcause & 0x7FFFFFFFu);
  } else if (mcause < (uint32_t)(sizeof tf_exception_names / sizeof tf_exception_names[0])) {
    n = tf_put_str(msg, n, tf_exception_names[mcause]);
  } else {
    n = tf_put_str(msg, n, "Exception");
    n = tf_put_dec(msg, n, mcause);
  }
  n = tf_put_str(msg, n, " pc=");
  n = tf_put_hex(msg, n, mepc);
  n = tf_put_str(msg, n, " mcause=");
  n = tf_put_hex(msg, n, mcause);
  n = tf_put_str(msg, n, " mtval=");
  n = tf_put_hex(msg, n, mtval);
  n = tf_put_str(msg, n, " ***\r\n");

  tf_hal_panic_write(msg, n);
  tf_hal_panic_flush();
  tf_hal_system_reset();
}
