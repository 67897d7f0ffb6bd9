// The flash and ports commands as a user runs them (the backends themselves are tested against
// protocol simulators in flash_backends.test.ts).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseUf2 } from '../flasher/backends/uf2.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));

function tinyforge(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('tinyforge flash / ports', () => {
  it('writes a UF2 image to the Pico\'s bootloader drive', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-flash-'));
    const drive = path.join(dir, 'RPI-RP2');
    mkdirSync(drive);
    writeFileSync(path.join(drive, 'INFO_UF2.TXT'), 'UF2 Bootloader v3.0\nBoard-ID: RPI-RP2\n');
    const image = path.join(dir, 'app.bin');
    const data = Buffer.alloc(3000, 0);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    writeFileSync(image, data);
    const r = tinyforge('flash', '--board', 'rpi-pico', '--image', image, '--drive', drive, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toMatchObject({ board: 'rpi-pico', method: 'uf2', bytesWritten: 3000 });
    const written = readdirSync(drive).filter((f) => f.endsWith('.uf2'));
    expect(written).toHaveLength(1);
    const uf2 = parseUf2(new Uint8Array(readFileSync(path.join(drive, written[0] as string))));
    expect(uf2.address).toBe(0x10000000);
    expect(uf2.familyId).toBe(0xe48bff56);
    expect(uf2.blocks).toHaveLength(Math.ceil(3000 / 256));
    expect(Buffer.from(uf2.data.subarray(0, 3000)).equals(data)).toBe(true);
  });

  it('explains what to do instead of flashing a QEMU board, and needs an image for real ones', () => {
    const q = tinyforge('flash', '--board', 'qemu-mps2-an386');
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/runs under QEMU.*tinyforge validate --board qemu-mps2-an386/);
    const noImage = tinyforge('flash', '--board', 'rpi-pico');
    expect(noImage.code).toBe(2);
    expect(noImage.stderr).toMatch(/--image/);
  });

  it('lists ports, or fails saying why it cannot list them (never "no ports" then), without a stack trace', () => {
    const r = tinyforge('ports', '--json');
    const out = JSON.parse(r.stdout) as { ok: boolean; result: { listed: boolean; ports: unknown[] }; error: { message: string; exitCode: number } | null };
    expect(Array.isArray(out.result.ports)).toBe(true);
    if (out.result.listed) {
      expect(r.code, r.stderr).toBe(0);
      expect(out.ok).toBe(true);
    } else {
      expect(r.code).toBe(3);
      expect(out.error?.message).toMatch(/cannot list serial ports/);
      const plain = tinyforge('ports');
      expect(plain.code).toBe(3);
      expect(plain.stdout).not.toMatch(/no serial ports found/);
      expect(plain.stderr).toMatch(/^error: cannot list serial ports: .*--port/);
    }
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
