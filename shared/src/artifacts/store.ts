import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';

/**
 * Where model artifacts live. A version's files are written once and never changed; readers
 * verify each file against the checksum recorded when it was written.
 */
export interface ArtifactStore {
  /** Writes `data` as `name` under `version`, atomically; returns its sha256 (hex). */
  put(version: string, name: string, data: Uint8Array): Promise<string>;
  /** Reads `name` of `version` and refuses it unless its sha256 equals `expectedSha256`. */
  get(version: string, name: string, expectedSha256: string): Promise<Buffer>;
  /** A location to record in the registry (a path or URL). */
  locate(version: string): string;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class ArtifactIntegrityError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super('ARTIFACT_CORRUPT', message, { status: 500, details });
    this.name = 'ArtifactIntegrityError';
  }
}

/**
 * Files under a root folder: `<root>/<version>/<name>`. A write goes to a temporary file in
 * the same folder, is fsynced, then renamed over the final name, and the folder is fsynced,
 * so a crash leaves either the whole file or none of it.
 */
export class FileArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  locate(version: string): string {
    return path.join(this.root, checkName(version));
  }

  async put(version: string, name: string, data: Uint8Array): Promise<string> {
    const folder = this.locate(version);
    await mkdir(folder, { recursive: true });
    const finalPath = path.join(folder, checkName(name));
    const temporaryPath = `${finalPath}.tmp-${randomBytes(6).toString('hex')}`;

    const file = await open(temporaryPath, 'wx');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temporaryPath, finalPath);
    } catch (error) {
      await rm(temporaryPath, { force: true });
      throw error;
    }
    await syncFolder(folder);
    return sha256(data);
  }

  async get(version: string, name: string, expectedSha256: string): Promise<Buffer> {
    const file = path.join(this.locate(version), checkName(name));
    const { data, sha256: actual } = await readAndHash(file);
    if (actual !== expectedSha256) {
      throw new ArtifactIntegrityError(
        `artifact ${file} does not match its recorded checksum (truncated or altered); ` +
          'it will not be loaded',
        { file, expected: expectedSha256, actual, bytes: data.length },
      );
    }
    return data;
  }
}

/** Bytes read and hashed per step: a few milliseconds of work each. */
const HASH_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Reads a file and its sha256 in chunks, yielding to the event loop between them: hashing a
 * 256 MB embeddings file in one call held a serving process's event loop for about 155 ms
 * while it loaded a new version.
 */
async function readAndHash(file: string): Promise<{ data: Buffer; sha256: string }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const data = Buffer.allocUnsafe(size);
    const hash = createHash('sha256');
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(
        data,
        offset,
        Math.min(HASH_CHUNK_BYTES, size - offset),
        offset,
      );
      if (bytesRead === 0) break;
      hash.update(data.subarray(offset, offset + bytesRead));
      offset += bytesRead;
    }
    // A file that shrank while being read is caught by the checksum; keep only what was read.
    return { data: offset === size ? data : data.subarray(0, offset), sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function checkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw new Error(`invalid artifact name ${JSON.stringify(name)}: letters, digits, . _ - only`);
  }
  return name;
}
