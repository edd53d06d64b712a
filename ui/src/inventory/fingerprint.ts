// Finds the certificate's SHA-256 fingerprint in a `tls` error message so the dialog can offer to pin it.

const pattern = /\b(?:[0-9a-f]{2}:){31}[0-9a-f]{2}\b|\b[0-9a-f]{64}\b/i;

/** The first SHA-256 fingerprint in `message`, upper-case with colons, or null. */
export function extractFingerprint(message: string): string | null {
  const found = pattern.exec(message)?.[0];
  if (!found) return null;
  const hex = found.replaceAll(":", "").toUpperCase();
  return hex.match(/.{2}/g)?.join(":") ?? null;
}
