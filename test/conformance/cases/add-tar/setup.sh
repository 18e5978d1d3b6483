# Makes the archives (run by the harness in a copy of this directory; modes and owners in the
# archives must not depend on the checkout).
set -e
mkdir -p t/tree/sub
printf 'one\n' > t/tree/one.txt
printf 'two\n' > t/tree/sub/two.txt
printf '#!/bin/sh\n' > t/tree/sub/run.sh
ln -s sub/two.txt t/tree/link
ln t/tree/one.txt t/tree/one-hardlink
chmod 0640 t/tree/one.txt
chmod 4755 t/tree/sub/run.sh
chmod 0700 t/tree/sub
tar --numeric-owner --owner=1234 --group=5678 -C t -cf plain.tar tree
tar --numeric-owner --owner=0 --group=0 -C t -czf archive.tar.gz tree
tar --numeric-owner --owner=42 --group=42 -C t -cjf archive.tar.bz2 tree
tar --numeric-owner --owner=7 --group=8 -C t -cJf archive.tar.xz tree
mkdir -p m/existing m/new
printf 'merged\n' > m/existing/merged.txt
printf 'new\n' > m/new/n.txt
tar --numeric-owner --owner=0 --group=0 -C m -cf merge.tar existing new
rm -rf t m
