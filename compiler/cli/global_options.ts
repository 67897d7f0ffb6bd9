// The global options that later steps read (--config), kept apart from the config loader so that
// setting them at start-up loads nothing else.

let configOption: string | undefined;
/** Bumped by every command start, so the config is read afresh for each command. */
let generation = 0;

/** The global --config value (undefined: look in the current directory). */
export function setConfigOption(file: string | undefined): void {
  configOption = file;
  generation++;
}

export function configOptionValue(): string | undefined {
  return configOption;
}

export function configGeneration(): number {
  return generation;
}
