# The archive (owners and modes fixed here).
mkdir -p t/tree/sub
printf 'one\n' > t/tree/one.txt
printf '#!/bin/sh\n' > t/tree/sub/run.sh
chmod 0640 t/tree/one.txt
chmod 4755 t/tree/sub/run.sh
chmod 0750 t/tree/sub t/tree
tar --numeric-owner --owner=1234 --group=5678 -C t -cf plain.tar tree
rm -rf t
