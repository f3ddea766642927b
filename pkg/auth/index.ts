export { AuthStore, ROOT_ROLE, ROOT_USER, type AuthChange, type Change, type StoredRole, type StoredUser } from './store.js';
export { checkAdmin, checkOp, NO_USER, type Access, type AuthInfo } from './check.js';
export { buildUserPerms, covers, intervalOf, mergeIntervals, type Interval, type UserPerms } from './range-perms.js';
export { JwtTokens, SimpleTokens, type TokenProvider } from './tokens.js';
export { JwtSigner, jwtKeysFromOptions, JWT_METHODS, type JwtKeys, type JwtMethod } from './jwt.js';
export { hashPassword, checkPassword } from './password.js';
