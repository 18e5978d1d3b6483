mkdir -p t/sub
echo a > t/a; echo s > t/sub/s
chmod 0700 t; chmod 0750 t/sub; chmod 0640 t/a
tar --numeric-owner --owner=1234 --group=5678 -C t -cf dot.tar .
rm -rf t
