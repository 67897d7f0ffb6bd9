/* Reset and trap entry for the tinyforge agent firmware on QEMU's riscv32 `virt` machine
 * (rv32imc, M-mode, linked with virt.ld). QEMU's reset ROM jumps here with a0 = hart id.
 *
 * _start: set gp, tp and sp, park every hart but 0, point mtvec at tf_trap_entry, copy the
 * .data/.tdata image, zero .tbss/.bss, call main(). If main returns, or on any trap (nothing
 * enables interrupts, so a trap is an exception), tf_trap_report() in startup_virt.c prints a
 * line on the UART and resets the machine. */

  /* -march=rv32imc (ISA spec 20191213) leaves the CSR instructions out of the base ISA. */
  .option arch, +zicsr

  .section .text.init, "ax", @progbits
  .globl _start
  .type _start, @function
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  la tp, __tls_base
  la sp, __StackTop
  csrw mie, zero
  csrr t0, mhartid
  bnez t0, tf_park

  la t0, tf_trap_entry
  csrw mtvec, t0

  /* .data and .tdata: copy the image from FLASH to RAM. */
  la a0, __data_load__
  la a1, __data_start__
  la a2, __data_end__
1:
  bgeu a1, a2, 2f
  lw t0, 0(a0)
  sw t0, 0(a1)
  addi a0, a0, 4
  addi a1, a1, 4
  j 1b
2:
  /* .tbss, its reservation and .bss: zero. */
  la a1, __data_end__
  la a2, __bss_end__
3:
  bgeu a1, a2, 4f
  sw zero, 0(a1)
  addi a1, a1, 4
  j 3b
4:
  call main
  /* main returned: report it like a trap, with mcause = 0xFFFFFFFF and mepc = main's result. */
  mv a1, a0
  li a0, -1
  li a2, 0
  la sp, __StackTop
  call tf_trap_report
tf_park:
  wfi
  j tf_park
  .size _start, . - _start

  /* mtvec (direct mode) needs 4-byte alignment. The handler never returns: run it on a fresh
   * stack so that a stack overflow can still be reported. */
  .section .text.tf_trap_entry, "ax", @progbits
  .balign 4
  .globl tf_trap_entry
  .type tf_trap_entry, @function
tf_trap_entry:
  la sp, __StackTop
  csrr a0, mcause
  csrr a1, mepc
  csrr a2, mtval
  call tf_trap_report
  j tf_park
  .size tf_trap_entry, . - tf_trap_entry
