export { parseDockerignore, IgnoreMatcher, type IgnorePatterns } from './ignore.js';
