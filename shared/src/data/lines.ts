import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface NumberedLine {
  /** 1-based, as editors and error reports count. */
  lineNumber: number;
  text: string;
}

/**
 * Streams a text file line by line, so imports of any size run in constant memory.
 * MovieLens 100K's u.item is ISO-8859-1, hence the encoding option.
 */
export async function* readLines(
  path: string,
  encoding: BufferEncoding = 'utf8',
): AsyncGenerator<NumberedLine> {
  const lines = createInterface({
    input: createReadStream(path, { encoding }),
    crlfDelay: Infinity,
  });
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber++;
    yield { lineNumber, text };
  }
}

/**
 * Splits one CSV line (RFC 4180 quoting: "a, b" and "" for a quote). Returns an error text
 * instead of fields when a quote is left open, since a record cannot span lines here.
 */
export function splitCsvLine(line: string, delimiter = ','): string[] | { error: string } {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let n = 0; n < line.length; n++) {
    const char = line[n];
    if (quoted) {
      if (char === '"' && line[n + 1] === '"') {
        field += '"';
        n++;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"' && field === '') {
      quoted = true;
    } else if (char === delimiter) {
      fields.push(field);
      field = '';
    } else {
      field += char;
    }
  }
  if (quoted) return { error: 'unterminated quoted field' };
  fields.push(field);
  return fields;
}
