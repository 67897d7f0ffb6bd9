// The project config's file name, apart from its schema so that `tinyforge --help` can name it
// without loading zod and the board files.

export const CONFIG_FILE_NAME = 'tinyforge.config.json';
