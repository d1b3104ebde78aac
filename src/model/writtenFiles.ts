/**
 * The files a step wrote in its project or data folder, as its provenance lists them, put
 * in the form the editor shows: paths as the step sees them, sizes in words.
 */

/** A file a step wrote, as the server's provenance lists it. */
export interface IWrittenFileJSON {
  root: 'project' | 'data';
  /** Relative to its folder. */
  path: string;
  size: number;
  digest: string;
  /** The steps that executed at the same time: the cache did not keep the file. */
  shared_with: string[];
}

/** The part of a step's provenance about its files. */
export interface IStepFilesJSON {
  files: IWrittenFileJSON[];
  /** Why its result was not cached, when it could not be. */
  not_cached: string;
}

/** A file as the editor lists it. */
export interface IShownFile {
  path: string;
  size: string;
  /** The other steps that may have written it; empty when it is the step's alone. */
  sharedWith: string[];
}

/** How many files are listed before "and N more". */
export const SHOWN_FILES = 20;

/** The path as a step sees it: data files under `/data/`, project files as they are. */
export function displayPath(
  file: Pick<IWrittenFileJSON, 'root' | 'path'>
): string {
  return file.root === 'data' ? `/data/${file.path}` : file.path;
}

/** Bytes in words: `512 B`, `1.5 KiB`, `3.0 GiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  let size = bytes / 1024;
  for (const unit of ['KiB', 'MiB']) {
    if (size < 1024) {
      return `${size.toFixed(1)} ${unit}`;
    }
    size /= 1024;
  }
  return `${size.toFixed(1)} GiB`;
}

/** The files to list, sorted by path (the project's first), and how many are left out. */
export function shownFiles(
  files: IWrittenFileJSON[],
  limit = SHOWN_FILES
): { shown: IShownFile[]; more: number; total: string } {
  const sorted = files
    .map(file => ({
      path: displayPath(file),
      size: formatSize(file.size),
      sharedWith: file.shared_with
    }))
    .sort((a, b) =>
      a.path.startsWith('/') === b.path.startsWith('/')
        ? a.path.localeCompare(b.path)
        : a.path.startsWith('/')
          ? 1
          : -1
    );
  return {
    shown: sorted.slice(0, limit),
    more: Math.max(0, sorted.length - limit),
    total: formatSize(files.reduce((sum, file) => sum + file.size, 0))
  };
}
