# The archive (owners and modes fixed here).
mkdir -p t/tree
printf 'one\n' > t/tree/one.txt
chmod 0640 t/tree/one.txt
chmod 0750 t/tree
tar --numeric-owner --owner=1234 --group=5678 -C t -cf plain.tar tree
rm -rf t
