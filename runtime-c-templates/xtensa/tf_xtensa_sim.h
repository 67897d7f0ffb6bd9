/* Host calls and exit of the qemu-xtensa-lx106 board (startup_sim.S, io_simcall.c). */
#ifndef TF_XTENSA_SIM_H
#define TF_XTENSA_SIM_H

/* Xtensa ISS simcall numbers that QEMU implements. */
#define TF_SIMCALL_EXIT 1
#define TF_SIMCALL_READ 3
#define TF_SIMCALL_WRITE 4
#define TF_SIMCALL_OPEN 5
#define TF_SIMCALL_CLOSE 6

/* O_WRONLY | O_CREAT | O_TRUNC in two encodings (see io_simcall.c). */
#define TF_O_WRONLY_CREAT_TRUNC_LINUX 01101
#define TF_O_WRONLY_CREAT_TRUNC_NEWLIB 0x601

/* a2 = nr, a3..a5 = a, b, c; returns a2 (negative on failure). */
int tf_simcall(int nr, int a, int b, int c);

/* Ends the emulation: QEMU exits with `code`. */
void tf_xtensa_exit(int code) __attribute__((noreturn));

#endif
