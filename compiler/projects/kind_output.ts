// What each project kind's writer reports back, for README.md and buildInstructions.

export interface KindOutput {
  /** Tools the user needs, one sentence each. */
  requirements: string[];
  /** Shell commands that build the firmware, run in the project directory. */
  build: string[];
  /** Upload through the board's own tooling, when that is the usual way (run in the project directory). */
  vendorFlash?: string[];
  /** The image `tinyforge flash` writes, relative to the project directory. */
  image: string;
  /** The ELF of the same program, when the build makes one. */
  elf?: string;
  /** Other ways to flash, one line each. */
  altFlash?: string[];
  /** Project files and directories, with what they are. */
  layout: Array<[string, string]>;
  /** Extra README sections (markdown), after the build steps. */
  extraSections?: string[];
}
