// glibc strerror() wording for the errno codes file operations report (what xl prints).

const MESSAGES: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EMFILE: 'Too many open files',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EPERM: 'Operation not permitted',
  EIO: 'Input/output error',
};

/** strerror(errno) of a Node error (its `code`), or its message. */
export function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && Object.hasOwn(MESSAGES, code)) return MESSAGES[code] ?? code;
  return e instanceof Error ? e.message : String(e);
}
