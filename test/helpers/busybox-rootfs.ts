// A tiny root filesystem for runtime tests, built from Debian's busybox-static: /bin/busybox,
// a symlink per applet in /bin, and /etc/passwd + /etc/group with root and app (1000:1000).
import { copyFileSync, chmodSync, mkdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';

export function haveBusybox(): boolean {
  return existsSync(BUSYBOX);
}

let applets: string[] | undefined;

/** Fills `dir` (created if needed) with the busybox rootfs and returns it. */
export function makeBusyboxRootfs(dir: string): string {
  applets ??= execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean);
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/app']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const a of applets) {
    if (a === 'busybox') continue;
    symlinkSync('busybox', join(dir, 'bin', a));
  }
  writeFileSync(
    join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nwheel:x:10:app\napp:x:1000:\nstaff:x:50:app,root\nnogroup:x:65534:\n');
  return dir;
}
