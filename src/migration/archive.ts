/**
 * What stays of V1 after decommissioning: a directory of JSON files — its
 * resolved configuration, its whole metric history, the migration's
 * decisions, the flags and their history, the last stderr lines of its
 * workers, what was cleaned up — and `manifest.json` with each file's size
 * and SHA-256, so that the archive can be checked long after, and its own
 * checksum kept in the store.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A file written for the record, with its size and checksum. */
export interface ArtifactFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** One thing decommissioning took away (or, in a dry run, would). */
export interface CleanupItem {
  readonly kind: "process" | "temp_file" | "flag" | "configuration";
  readonly what: string;
  readonly detail: string;
}

/** A written archive: its files and its manifest (null when the manifest could not be written). */
export interface WrittenArchive {
  readonly dir: string;
  readonly files: readonly ArtifactFile[];
  readonly manifest: ArtifactFile | null;
}

/** The files an archive holds, in the order they are written: the first two while V1 still runs, the rest once it has stopped. */
export const ARCHIVE_FILES = ["configuration.json", "decisions.json", "metrics.json", "flags.json", "stderr.json", "cleanup.json"] as const;

/** One of the files of an archive. */
export type ArchiveFileName = (typeof ARCHIVE_FILES)[number];

/** @internal The SHA-256 of some bytes, in hex. */
export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** @internal Write one file of the archive in `dir` as JSON; it lands whole or not at all. */
export async function writeArchiveFile(dir: string, name: ArchiveFileName, data: unknown): Promise<ArtifactFile> {
  await mkdir(dir, { recursive: true });
  return await writeWhole(join(dir, name), JSON.stringify(data, null, 2));
}

/** @internal Write the manifest of the files written into `dir`. */
export async function writeManifest(dir: string, files: readonly ArtifactFile[]): Promise<WrittenArchive> {
  const manifest = await writeWhole(join(dir, "manifest.json"), JSON.stringify({ files: files.map((f) => ({ ...f, path: f.path.slice(dir.length + 1) })) }, null, 2));
  return { dir, files, manifest };
}

async function writeWhole(path: string, text: string): Promise<ArtifactFile> {
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, text);
  await rename(partial, path);
  return { path, bytes: Buffer.byteLength(text), sha256: sha256(text) };
}

/** @internal Whether a recorded file is still as it was written: "intact", "changed" (another checksum) or "missing". */
export async function checkArtifact(file: ArtifactFile): Promise<"intact" | "changed" | "missing"> {
  try {
    return sha256(await readFile(file.path)) === file.sha256 ? "intact" : "changed";
  } catch {
    return "missing";
  }
}
