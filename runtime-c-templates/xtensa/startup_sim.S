/* Reset vector, exception vectors and start-up code of the qemu-xtensa-lx106 board
 * (qemu-system-xtensa -M sim -cpu lx106 -semihosting; call0 ABI, see sim_lx106.ld).
 *
 * Host calls use the Xtensa ISS `simcall` convention that QEMU implements with -semihosting:
 * a2 = call number, a3..a5 = arguments, result in a2, errno in a3. */

#define TF_SIMCALL_EXIT 1
#define TF_EXIT_DOUBLE_EXCEPTION 125

        /* QEMU resets the core after loading the ELF: execution starts here, in sysrom0. */
        .section .reset_vector, "ax"
        .global _ResetVector
        .align 4
_ResetVector:
        j       1f
        .align 4
2:      .word   _start
        .align 4
1:      l32r    a0, 2b
        jx      a0

        /* Exception vectors at VECBASE (0x40000000). A data model that is bit-exact never takes
         * an exception: every one ends the run with a report (tf_xtensa_fault). */
        .section .vectors, "ax"
        .align 4
_vectors:
        .org 0x10                       /* level-2 / debug */
        movi    a2, 2
        j       _fault
        .org 0x20                       /* NMI / level-3 */
        movi    a2, 3
        j       _fault
        .org 0x30                       /* kernel exception */
        movi    a2, 4
        j       _fault
        .org 0x50                       /* user exception */
        movi    a2, 5
        j       _fault
        .org 0x70                       /* double exception: no stack to trust */
        movi    a3, TF_EXIT_DOUBLE_EXCEPTION
        movi    a2, TF_SIMCALL_EXIT
        simcall
1:      j       1b
        .org 0x80

        /* In .text so that its literals (L32R) precede it. */
        .section .text.tf_fault_entry, "ax"
        .align 4
_fault:
        movi    a1, __fault_stack
        rsr.exccause a3
        rsr.epc1     a4
        rsr.excvaddr a5
        call0   tf_xtensa_fault             /* reports and exits; does not return */
3:      j       3b

        .section .text._start, "ax"
        .global _start
        .align 4
_start:
        /* PS: all interrupts masked (INTLEVEL 15), EXCM 0, UM 1 (exceptions take the user vector). */
        movi    a0, 0x2F
        wsr.ps  a0
        rsync
        movi    a0, 0
        movi    a1, __StackTop
        /* .data is already in place (QEMU loads the ELF at its addresses); zero .bss. */
        movi    a2, __bss_start
        movi    a3, __bss_end
        movi    a4, 0
        bgeu    a2, a3, 5f
4:      s32i    a4, a2, 0
        addi    a2, a2, 4
        bltu    a2, a3, 4b
5:      movi    a2, 0
        movi    a3, 0
        call0   main
        call0   tf_xtensa_exit              /* exit status = main's return value */
6:      j       6b

        /* int tf_simcall(int nr, int a, int b, int c) */
        .section .text.tf_simcall, "ax"
        .global tf_simcall
        .align 4
tf_simcall:
        simcall
        ret
