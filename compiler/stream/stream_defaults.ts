// Defaults of the streaming pipeline's options, in a module of their own so that the CLI's help
// text can show them without loading the compiler.

/**
 * The stride is micro_speech's 20 ms (../shared/audio/README.md); smoothing, threshold and
 * suppression are in the range of TFLite Micro's RecognizeCommands (which uses 1000 ms, 200/256
 * and 1500 ms) but shorter, so that a word right after another one is still reported.
 */
export const STREAM_DEFAULTS = {
  strideMs: 20,
  sampleRate: 16000,
  classifyEvery: 1,
  averageMs: 100,
  threshold: 0.8,
  suppressionMs: 1000,
} as const;
