// CRC-32 as used by the agent protocol (docs/protocol.md): IEEE 802.3 / zlib, reflected polynomial
// 0xEDB88320, initial value and final XOR 0xFFFFFFFF. crc32("123456789") = 0xCBF43926.

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 of `data`. Pass the result of a previous call as `previous` to continue over more bytes:
 * crc32(b, crc32(a)) === crc32(a ++ b).
 */
export function crc32(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.byteLength; i++) {
    crc = (TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
