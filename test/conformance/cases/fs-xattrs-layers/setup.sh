# A static setxattr for RUN steps (busybox has no setfattr), and a context file with a user xattr.
cat > setxattr.c <<'C'
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: setxattr PATH NAME VALUE\n"); return 2; }
  if (lsetxattr(argv[1], argv[2], argv[3], strlen(argv[3]), 0) != 0) { perror(argv[1]); return 1; }
  return 0;
}
C
cc -static -Os -o setxattr setxattr.c
rm setxattr.c
echo data > ctx-file
setfattr -n user.fromctx -v hello ctx-file
