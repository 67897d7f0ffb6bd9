/*
 * tinyforge instruction counter: a QEMU TCG plugin (plugin API version 1, QEMU 7.x) that counts
 * executed guest instructions exactly. Built for the host by compiler/bench/xtensa_bench.ts:
 *
 *   qemu-system-xtensa ... -plugin tf_insn_plugin.so,mark=0xADDR,out=FILE
 *
 * Every time the guest executes the instruction at `mark` (the entry of the bench image's marker
 * function), one line "mark N" is written, N being the number of guest instructions executed
 * before that one; "total N" is written at exit. The host takes differences of marks.
 *
 * Counting is per translated block with an inline add when the block is entered; the count at the
 * marker is corrected by the marker's position in its block. That is exact as long as no exception
 * leaves a block early, which does not happen in a bench run (an exception ends the run).
 *
 * Debian ships no qemu-plugin.h: the few declarations needed are written out below, as QEMU 7.2's
 * include/qemu/qemu-plugin.h declares them.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TF_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

TF_EXPORT int qemu_plugin_version = 1;

/* Instructions of every block entered so far (including the whole current block). */
static uint64_t tf_count;
static uint64_t tf_mark_addr = UINT64_MAX;
static FILE *tf_out;

/* userdata: instructions from the marker to the end of its block. */
static void tf_on_mark(unsigned int vcpu, void *udata) {
  (void)vcpu;
  fprintf(tf_out, "mark %" PRIu64 "\n", tf_count - (uint64_t)(uintptr_t)udata);
}

static void tf_on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &tf_count, n);
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    if (qemu_plugin_insn_vaddr(insn) == tf_mark_addr) {
      qemu_plugin_register_vcpu_insn_exec_cb(insn, tf_on_mark, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)(n - i));
    }
  }
}

static void tf_on_exit(qemu_plugin_id_t id, void *p) {
  (void)id;
  (void)p;
  fprintf(tf_out, "total %" PRIu64 "\n", tf_count);
  fflush(tf_out);
}

TF_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);
TF_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  (void)info;
  tf_out = stderr;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "mark=", 5) == 0) {
      tf_mark_addr = strtoull(a + 5, NULL, 0);
    } else if (strncmp(a, "out=", 4) == 0) {
      tf_out = fopen(a + 4, "w");
      if (tf_out == NULL) {
        perror(a + 4);
        return -1;
      }
    } else {
      fprintf(stderr, "tf_insn_plugin: unknown argument '%s'\n", a);
      return -1;
    }
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, tf_on_translate);
  qemu_plugin_register_atexit_cb(id, tf_on_exit, NULL);
  return 0;
}
