// Errors the user can act on. The CLI prints their message on one line and exits with `exitCode`;
// anything else is a bug in tinyforge and keeps its stack trace.

export const EXIT_OK = 0;
export const EXIT_MISMATCH = 1;
export const EXIT_USER_ERROR = 2;
export const EXIT_DEVICE_ERROR = 3;

export class TinyforgeError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USER_ERROR,
  ) {
    super(message);
    this.name = 'TinyforgeError';
  }
}

/** A model file that cannot be read: truncated, corrupt, or using something we do not support. */
export class ModelError extends TinyforgeError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ModelError';
  }
}

/** A build or run step (compiler, emulator) that failed. */
export class ToolError extends TinyforgeError {
  constructor(message: string) {
    super(message, EXIT_DEVICE_ERROR);
    this.name = 'ToolError';
  }
}
