// Field ids and enum values of the TFLite flatbuffer schema (tensorflow/lite/schema/schema.fbs),
// limited to what the frontend reads. A field's vtable slot is 4 + 2 * id; a union field uses two
// ids: the `_type` byte at id and the table offset at id + 1.

export const FILE_IDENTIFIER = 'TFL3';

/** Field ids per table. */
export const F = {
  Model: { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4 },
  OperatorCode: { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  Tensor: {
    shape: 0,
    type: 1,
    buffer: 2,
    name: 3,
    quantization: 4,
    isVariable: 5,
    sparsity: 6,
    shapeSignature: 7,
    hasRank: 8,
    variantTensors: 9,
  },
  QuantizationParameters: {
    min: 0,
    max: 1,
    scale: 2,
    zeroPoint: 3,
    detailsType: 4,
    details: 5,
    quantizedDimension: 6,
  },
  Buffer: { data: 0, offset: 1, size: 2 },
  Operator: {
    opcodeIndex: 0,
    inputs: 1,
    outputs: 2,
    builtinOptionsType: 3,
    builtinOptions: 4,
    customOptions: 5,
    customOptionsFormat: 6,
    mutatingVariableInputs: 7,
    intermediates: 8,
    largeCustomOptionsOffset: 9,
    largeCustomOptionsSize: 10,
    builtinOptions2Type: 11,
    builtinOptions2: 12,
  },
  Conv2DOptions: {
    padding: 0,
    strideW: 1,
    strideH: 2,
    fusedActivation: 3,
    dilationW: 4,
    dilationH: 5,
    quantizedBiasType: 6,
  },
  DepthwiseConv2DOptions: {
    padding: 0,
    strideW: 1,
    strideH: 2,
    depthMultiplier: 3,
    fusedActivation: 4,
    dilationW: 5,
    dilationH: 6,
  },
  Pool2DOptions: { padding: 0, strideW: 1, strideH: 2, filterW: 3, filterH: 4, fusedActivation: 5 },
  FullyConnectedOptions: {
    fusedActivation: 0,
    weightsFormat: 1,
    keepNumDims: 2,
    asymmetricQuantizeInputs: 3,
    quantizedBiasType: 4,
  },
  SoftmaxOptions: { beta: 0 },
  LeakyReluOptions: { alpha: 0 },
  AddOptions: { fusedActivation: 0, potScaleInt16: 1 },
  MulOptions: { fusedActivation: 0 },
  ReshapeOptions: { newShape: 0 },
  ConcatenationOptions: { axis: 0, fusedActivation: 1 },
  GatherOptions: { axis: 0, batchDims: 1 },
  SpaceToDepthOptions: { blockSize: 0 },
  DepthToSpaceOptions: { blockSize: 0 },
  MirrorPadOptions: { mode: 0 },
  L2NormOptions: { fusedActivation: 0 },
  CumsumOptions: { exclusive: 0, reverse: 1 },
  StridedSliceOptions: { beginMask: 0, endMask: 1, ellipsisMask: 2, newAxisMask: 3, shrinkAxisMask: 4, offset: 5 },
  SplitOptions: { numSplits: 0 },
  PackOptions: { valuesCount: 0, axis: 1 },
  UnpackOptions: { num: 0, axis: 1 },
  SplitVOptions: { numSplits: 0 },
  ReducerOptions: { keepDims: 0 },
  // new_height / new_width (ids 0, 1) are deprecated: the size comes from the second input.
  ResizeBilinearOptions: { alignCorners: 2, halfPixelCenters: 3 },
  ResizeNearestNeighborOptions: { alignCorners: 0, halfPixelCenters: 1 },
  TransposeConvOptions: { padding: 0, strideW: 1, strideH: 2, fusedActivation: 3, quantizedBiasType: 4 },
  BatchMatMulOptions: { adjX: 0, adjY: 1, asymmetricQuantizeInputs: 2 },
  UnidirectionalSequenceLSTMOptions: {
    fusedActivation: 0,
    cellClip: 1,
    projClip: 2,
    timeMajor: 3,
    asymmetricQuantizeInputs: 4,
    diagonalRecurrentTensors: 5,
  },
  SVDFOptions: { rank: 0, fusedActivation: 1, asymmetricQuantizeInputs: 2 },
} as const;

/** TensorType enum. */
export const TENSOR_TYPE_NAMES: readonly string[] = [
  'FLOAT32', // 0
  'FLOAT16',
  'INT32',
  'UINT8',
  'INT64',
  'STRING', // 5
  'BOOL',
  'INT16',
  'COMPLEX64',
  'INT8',
  'FLOAT64', // 10
  'COMPLEX128',
  'UINT64',
  'RESOURCE',
  'VARIANT',
  'UINT32', // 15
  'UINT16',
  'INT4',
];

export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  BOOL: 6,
  INT16: 7,
  INT8: 9,
  UINT64: 12,
  UINT32: 15,
  INT4: 17,
} as const;

export function tensorTypeName(t: number): string {
  return TENSOR_TYPE_NAMES[t] ?? `unknown type ${t}`;
}

/** Padding enum. */
export const Padding = { SAME: 0, VALID: 1 } as const;

/** ActivationFunctionType enum. */
export const ACTIVATION_NAMES: readonly string[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

export function activationName(a: number): string {
  return ACTIVATION_NAMES[a] ?? `unknown activation ${a}`;
}

/** FullyConnectedOptionsWeightsFormat enum. */
export const WEIGHTS_FORMAT_NAMES: readonly string[] = ['DEFAULT', 'SHUFFLED4x16INT8'];

/** Members of the BuiltinOptions union that we read (the union's type byte; 0 = NONE). */
export const BuiltinOptionsType = {
  NONE: 0,
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  SVDFOptions: 6,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  GatherOptions: 23,
  SpaceToDepthOptions: 19,
  BatchToSpaceNDOptions: 24,
  SpaceToBatchNDOptions: 25,
  MirrorPadOptions: 77,
  L2NormOptions: 12,
  CumsumOptions: 102,
  DepthToSpaceOptions: 94,
  StridedSliceOptions: 32,
  SplitOptions: 35,
  SubOptions: 28,
  DivOptions: 29,
  DequantizeOptions: 38,
  PadV2Options: 43,
  PackOptions: 59,
  UnpackOptions: 64,
  SplitVOptions: 79,
  LeakyReluOptions: 75,
  QuantizeOptions: 89,
  ResizeBilinearOptions: 15,
  ReducerOptions: 27,
  TransposeConvOptions: 49,
  ResizeNearestNeighborOptions: 74,
  BatchMatMulOptions: 101,
  UnidirectionalSequenceLSTMOptions: 71,
} as const;

/** The BuiltinOperator codes the frontend maps to IR ops. */
export const BuiltinOp = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  MAX_POOL_2D: 17,
  MUL: 18,
  RESHAPE: 22,
  SOFTMAX: 25,
  CUSTOM: 32,
  PAD: 34,
  PADV2: 60,
  QUANTIZE: 114,
} as const;

/** BuiltinOperator enum, indexed by code. Codes without a name are gaps in the enum. */
const BUILTIN_OPERATOR_NAMES: readonly string[] = [
  // 0
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D',
  'DEPTH_TO_SPACE', 'DEQUANTIZE', 'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED',
  // 10
  'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D', 'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC',
  'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  // 20
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN',
  'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH', 'CONCAT_EMBEDDINGS',
  // 30
  'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
  'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE',
  // 40
  'MEAN', 'SUB', 'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM',
  'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2', 'SPLIT',
  // 50
  'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU',
  'MAXIMUM', 'ARG_MAX', 'MINIMUM', 'LESS', 'NEG',
  // 60
  'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT',
  'SLICE', 'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE',
  // 70
  'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM',
  'SQRT', 'RSQRT', 'SHAPE', 'POW', 'ARG_MIN',
  // 80
  'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR',
  'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN',
  // 90
  'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL',
  'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE',
  // 100
  'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL',
  'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE',
  // 110
  'RANK', 'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE',
  'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE',
  // 120
  'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY',
  'SEGMENT_SUM', 'BATCH_MATMUL', 'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE',
  // 130
  'BROADCAST_TO', 'RFFT2D', 'CONV_3D', 'IMAG', 'REAL',
  'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND', 'HASHTABLE_IMPORT', 'HASHTABLE_SIZE',
  // 140
  'REDUCE_ALL', 'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE',
  'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL', 'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL',
  // 150
  'GELU', 'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1', 'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX',
  'UNSORTED_SEGMENT_SUM', 'ATAN2', 'UNSORTED_SEGMENT_MIN', 'SIGN', 'BITCAST',
  // 160
  'BITWISE_XOR', 'RIGHT_SHIFT', 'STABLEHLO_LOGISTIC', 'STABLEHLO_ADD', 'STABLEHLO_DIVIDE',
  'STABLEHLO_MULTIPLY', 'STABLEHLO_MAXIMUM', 'STABLEHLO_RESHAPE', 'STABLEHLO_CLAMP', 'STABLEHLO_CONCATENATE',
  // 170
  'STABLEHLO_BROADCAST_IN_DIM', 'STABLEHLO_CONVOLUTION', 'STABLEHLO_SLICE', 'STABLEHLO_CUSTOM_CALL', 'STABLEHLO_REDUCE',
  'STABLEHLO_ABS', 'STABLEHLO_AND', 'STABLEHLO_COSINE', 'STABLEHLO_EXPONENTIAL', 'STABLEHLO_FLOOR',
  // 180
  'STABLEHLO_LOG', 'STABLEHLO_MINIMUM', 'STABLEHLO_NEGATE', 'STABLEHLO_OR', 'STABLEHLO_POWER',
  'STABLEHLO_REMAINDER', 'STABLEHLO_RSQRT', 'STABLEHLO_SELECT', 'STABLEHLO_SUBTRACT', 'STABLEHLO_TANH',
  // 190
  'STABLEHLO_SCATTER', 'STABLEHLO_COMPARE', 'STABLEHLO_CONVERT', 'STABLEHLO_DYNAMIC_SLICE', 'STABLEHLO_DYNAMIC_UPDATE_SLICE',
  'STABLEHLO_PAD', 'STABLEHLO_IOTA', 'STABLEHLO_DOT_GENERAL', 'STABLEHLO_REDUCE_WINDOW', 'STABLEHLO_SORT',
  // 200
  'STABLEHLO_WHILE', 'STABLEHLO_GATHER', 'STABLEHLO_TRANSPOSE', 'DILATE', 'STABLEHLO_RNG_BIT_GENERATOR',
  'REDUCE_WINDOW',
];

const EXTRA_OPERATOR_NAMES: Readonly<Record<number, string>> = { 225: 'TEMP_STREAMING_CONV_2D' };

/** The schema name of a builtin operator code, or `UNKNOWN_BUILTIN_<n>` for codes the schema does not define. */
export function builtinOperatorName(code: number): string {
  return BUILTIN_OPERATOR_NAMES[code] ?? EXTRA_OPERATOR_NAMES[code] ?? `UNKNOWN_BUILTIN_${code}`;
}

/** The builtin operator code of a schema name (the writer's inverse of builtinOperatorName), or -1. */
export function builtinOperatorCode(name: string): number {
  return BUILTIN_OPERATOR_NAMES.indexOf(name);
}

/** Number of named codes in the contiguous part of the table (for tests). */
export const BUILTIN_OPERATOR_COUNT = BUILTIN_OPERATOR_NAMES.length;
