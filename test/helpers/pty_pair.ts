// Two connected pseudo-terminals (socat): a simulator opens one end, the code under test the other.

import { spawn, type ChildProcess } from 'node:child_process';

export interface PtyPair {
  host: string;
  device: string;
  socat: ChildProcess;
}

export function openPtyPair(): Promise<PtyPair> {
  return new Promise((resolve, reject) => {
    const socat = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => {
      socat.kill();
      reject(new Error(`socat did not report two ptys: ${text}`));
    }, 5000);
    socat.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run socat (apt-get install socat): ${e.message}`));
    });
    socat.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const paths = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!);
      if (paths.length === 2 && text.includes('starting data transfer loop')) {
        clearTimeout(timer);
        resolve({ host: paths[0]!, device: paths[1]!, socat });
      }
    });
  });
}
