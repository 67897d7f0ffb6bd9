// How the learnable head trains after its class prototypes (compile --adapt-epochs / --adapt-replay):
// the settings, their defaults, and the compile-time proof that the integer SGD of
// head_reference.ts cannot overflow for a given embedding length (see the bounds there).

import { TinyforgeError } from '../errors.ts';

export interface HeadLearning {
  /** Passes of integer SGD over the replay buffer after each enrollment; 0 = prototypes only. */
  epochs: number;
  /** Last enrolled embeddings kept (int8 + class) for SGD; 0 with epochs 0. */
  replay: number;
  /** Learning rate 2^-lrShift (int8 weight units per unit of centred embedding), 0..SGD_FRACTION_BITS. */
  lrShift: number;
  /** Hinge margin in units of the prototype scale M (int8-score units): true class must win by margin x M. */
  margin: number;
}

/** Fraction bits of the int32 working weights (and int64 working biases) during SGD. */
export const SGD_FRACTION_BITS = 12;
/**
 * The constant input the bias sees, as if it were the weight of one more feature of value 128:
 * an SGD step moves that weight by 128 steps, which moves the bias by 128 x 128 steps.
 */
export const SGD_BIAS_INPUT = 128;
/** How far one SGD step moves a bias, in learning-rate steps: SGD_BIAS_INPUT^2. */
export const SGD_BIAS_STEP = SGD_BIAS_INPUT * SGD_BIAS_INPUT;

// Chosen on a validation split of the worked example's pool (bench/adapt.ts prints the grid), not on its test set.
export const DEFAULT_HEAD_LEARNING: HeadLearning = { epochs: 16, replay: 32, lrShift: 4, margin: 16 };
export const PROTOTYPES_ONLY: HeadLearning = { epochs: 0, replay: 0, lrShift: DEFAULT_HEAD_LEARNING.lrShift, margin: DEFAULT_HEAD_LEARNING.margin };

/** Header fields are a u8 (epochs, lrShift) and u16 (replay, margin). */
export const MAX_EPOCHS = 255;
export const MAX_REPLAY = 65535;
export const MAX_MARGIN = 65535;

/** Largest |int8 prototype bias|: roundDiv(255 * 127^2 * dim, 254) <= 16193 * dim. */
const PROTOTYPE_BIAS_PER_FEATURE = 16193;
/** Every working score, score difference and 127 x working bias stays below this (exact in a double and an int64). */
export const SGD_EXACT_BOUND = 2 ** 51;

export interface LearningBounds {
  /** Largest |working weight|: 127 << F, plus one step of 255 << (F - L) per update. */
  weight: number;
  /** Largest |working bias|. */
  bias: number;
  /** Largest |working score| = bias + 255 * weight * dim. */
  score: number;
}

/** The worst case of the SGD's int32 / int64 state for a head of `dim` features. */
export function learningBounds(dim: number, l: HeadLearning): LearningBounds {
  // An example updates a class's weights at most once (as the true class or as the best other).
  const updates = l.epochs * l.replay;
  const step = 2 ** (SGD_FRACTION_BITS - l.lrShift);
  const weight = 127 * 2 ** SGD_FRACTION_BITS + updates * 255 * step;
  const bias = PROTOTYPE_BIAS_PER_FEATURE * dim * 2 ** SGD_FRACTION_BITS + updates * SGD_BIAS_STEP * step;
  return { weight, bias, score: bias + 255 * weight * dim };
}

function wholeIn(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new TinyforgeError(`${name} wants a whole number from ${lo} to ${hi}, not '${v}'`);
}

/** Checks the settings and that the SGD is overflow-free for `dim` features (one-line errors). */
export function checkHeadLearning(dim: number, l: HeadLearning): HeadLearning {
  wholeIn('--adapt-epochs', l.epochs, 0, MAX_EPOCHS);
  wholeIn('--adapt-replay', l.replay, 0, MAX_REPLAY);
  wholeIn('the learning-rate shift', l.lrShift, 0, SGD_FRACTION_BITS);
  wholeIn('the hinge margin', l.margin, 0, MAX_MARGIN);
  if (l.epochs > 0 && l.replay === 0) throw new TinyforgeError('--adapt-epochs > 0 trains on the replay buffer: give --adapt-replay at least 1');
  if (l.epochs === 0 && l.replay > 0) throw new TinyforgeError('--adapt-replay only matters with --adapt-epochs > 0 (0 = prototypes only, nothing replayed)');
  const b = learningBounds(dim, l);
  if (b.weight > 2 ** 31 - 1 || b.score > SGD_EXACT_BOUND || 127 * b.bias > SGD_EXACT_BOUND) {
    throw new TinyforgeError(
      `--adapt-epochs ${l.epochs} x --adapt-replay ${l.replay} on ${dim} features could overflow the head's integer SGD (worst score ${b.score.toExponential(2)} > 2^51): use fewer epochs or a smaller replay buffer`,
    );
  }
  return l;
}

/**
 * The settings a head is compiled with: the defaults, overridden by what was given. `epochs: 0`
 * alone means prototypes only (no replay buffer).
 */
export function resolveHeadLearning(dim: number, given: Partial<HeadLearning>): HeadLearning {
  const epochs = given.epochs ?? DEFAULT_HEAD_LEARNING.epochs;
  const replay = given.replay ?? (epochs === 0 ? 0 : DEFAULT_HEAD_LEARNING.replay);
  return checkHeadLearning(dim, {
    epochs,
    replay,
    lrShift: given.lrShift ?? DEFAULT_HEAD_LEARNING.lrShift,
    margin: given.margin ?? DEFAULT_HEAD_LEARNING.margin,
  });
}
