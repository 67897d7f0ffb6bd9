/* Byte I/O used by the generated test-vector runner (tf_runner.c).
 *
 * One implementation per platform:
 *   host/io_host.c          stdio: reads ./tf_in.bin, writes ./tf_out.bin
 *   cortex-m/io_semihost.c  ARM semihosting (BKPT 0xAB), same two files in QEMU's cwd
 *
 * The runner's exit codes (see compiler/targets/runner_source.ts):
 *   0 success, 2 tf_io_open failed, 3 read/write error, 4 short read (truncated case),
 *   5 the model's invoke returned non-zero; 100..105 are CPU faults (cortex-m startup).
 */
#ifndef TF_RUNNER_IO_H
#define TF_RUNNER_IO_H

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the input and output files. Returns 0 on success, non-zero on failure. */
int tf_io_open(void);

/* Reads up to n bytes, retrying partial reads. Returns the number of bytes read (less than n only
 * at end of file, 0 at end of file) or -1 on an I/O error. */
long tf_io_read(void *buf, unsigned long n);

/* Writes exactly n bytes. Returns 0 on success, non-zero on failure. */
int tf_io_write(const void *buf, unsigned long n);

/* Flushes and closes the files, then ends the program with the given exit status. Never returns. */
void tf_io_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* TF_RUNNER_IO_H */
