// Images and documents as data URLs (OpenAI) or base64 sources (Anthropic, Bedrock, Gemini). The
// media type is read from the bytes, never trusted from the URL: Anthropic checks it against the
// bytes and refuses a mismatch with a 400 ("Image does not match the provided media type"; LiteLLM
// #24900 shipped exactly that bug by trusting the data URL).

/** The media type of base64 data by its magic bytes, or null when unrecognised. */
export function sniffBase64(data: string): string | null {
  // 16 base64 characters decode to 12 bytes: enough for every signature below.
  const head = Buffer.from(data.slice(0, 16), 'base64');
  const b = (i: number) => head[i];
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'image/png';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'image/jpeg';
  if (b(0) === 0x47 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x38) return 'image/gif';
  if (b(0) === 0x52 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x46 && b(8) === 0x57 && b(9) === 0x45 && b(10) === 0x42 && b(11) === 0x50) return 'image/webp';
  if (b(0) === 0x25 && b(1) === 0x50 && b(2) === 0x44 && b(3) === 0x46) return 'application/pdf';
  return null;
}

export interface DataUrl {
  mediaType: string;
  data: string;
}

/** `data:<type>;base64,<data>` → its parts (the type sniffed from the bytes when they say), or null when not base64 data. */
export function parseDataUrl(url: string): DataUrl | null {
  if (!url.startsWith('data:')) return null;
  const comma = url.indexOf(',');
  if (comma < 0) return null;
  const meta = url.slice(5, comma);
  if (!meta.endsWith(';base64')) return null;
  const data = url.slice(comma + 1);
  const declared = meta.slice(0, meta.indexOf(';')).toLowerCase();
  return { mediaType: sniffBase64(data) ?? declared, data };
}

export const toDataUrl = (mediaType: string, data: string): string => `data:${mediaType};base64,${data}`;
