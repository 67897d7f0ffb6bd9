import { readFileSync } from 'node:fs';
import { packagePath } from './package_root.ts';

const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };

export const TOOL_VERSION: string = pkg.version;
