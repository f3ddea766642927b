/** bcrypt password hashes (pure-JS bcryptjs), computed at the API layer so raft never carries a plaintext. */
import bcrypt from 'bcryptjs';

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

/** False for an empty hash (no-password user) or a mismatch. */
export async function checkPassword(password: string, hash: string): Promise<boolean> {
  if (hash === '') return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}
