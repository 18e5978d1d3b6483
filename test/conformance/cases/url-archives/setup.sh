# The archives (served and local).
mkdir -p t/app http
printf 'in archive\n' > t/app/readme
tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C t -cf http/plain.tar app
gzip -n -c http/plain.tar > http/release.tar.gz
cp http/release.tar.gz local.tar.gz
rm -rf t
